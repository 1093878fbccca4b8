#include "api/yaml_json.h"

#include <gtest/gtest.h>

namespace wo::api {
namespace {

// The single document of `yaml`, as compact JSON text.
std::string json(const std::string& yaml) {
  std::string error;
  auto docs = yaml_to_json(yaml, &error);
  EXPECT_TRUE(docs) << yaml << ": " << error;
  if (!docs || docs->size() != 1) return "<" + std::to_string(docs ? docs->size() : 0) + " documents>";
  return docs->front().serialize();
}

std::string error_of(const std::string& yaml) {
  std::string error;
  EXPECT_FALSE(yaml_to_json(yaml, &error)) << yaml;
  return error;
}

TEST(YamlJson, BoolsAsGoYamlV2) {
  EXPECT_EQ(json("[y, Y, yes, Yes, YES, on, On, ON, true, True, TRUE]"),
            "[true,true,true,true,true,true,true,true,true,true,true]");
  EXPECT_EQ(json("[n, N, no, No, NO, off, Off, OFF, false, False, FALSE]"),
            "[false,false,false,false,false,false,false,false,false,false,false]");
  EXPECT_EQ(json("[yES, tRUE, \"yes\", 'true']"), R"(["yES","tRUE","yes","true"])");
}

TEST(YamlJson, Nulls) {
  EXPECT_EQ(json("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: \"null\"\ng: !!str"),
            R"({"a":null,"b":null,"c":null,"d":null,"e":null,"f":"null","g":""})");
}

TEST(YamlJson, IntegersAsStrconvParseIntBase0) {
  EXPECT_EQ(json("[0644, 0x1F, 0o17, 0b101, -0b11, 1_000, +5, -7, 0]"), "[420,31,15,5,-3,1000,5,-7,0]");
  EXPECT_EQ(json("[9223372036854775807, -9223372036854775808, 18446744073709551615]"),
            "[9223372036854775807,-9223372036854775808,18446744073709551615]");
  // Beyond 64 bits an integer keeps its text rather than losing digits as a float.
  EXPECT_EQ(json("[18446744073709551616]"), R"(["18446744073709551616"])");
  // "08" is not octal: go-yaml falls back to the float syntax, and 8.0 is written as 8.
  EXPECT_EQ(json("[08]"), "[8]");
}

TEST(YamlJson, Floats) {
  EXPECT_EQ(json("[1.5, .5, -0.25, 1e3, 2.0, 1.5e1, 1.5e-1]"), "[1.5,0.5,-0.25,1000,2,15,0.14999999999999999]");
  EXPECT_EQ(json("[1e999]"), R"(["1e999"])");  // out of range: go-yaml keeps the string
  EXPECT_NE(error_of("a: .inf").find("JSON cannot represent"), std::string::npos);
  EXPECT_NE(error_of("a: -.Inf").find("JSON cannot represent"), std::string::npos);
  EXPECT_NE(error_of("a: .nan").find("line 1, column 4"), std::string::npos);
}

TEST(YamlJson, StringsStayStrings) {
  EXPECT_EQ(json("[\"0644\", '123', 1.2.3, 12:30, 2001-12-14, v1, \"true\"]"),
            R"(["0644","123","1.2.3","12:30","2001-12-14","v1","true"])");
  EXPECT_EQ(json("a: |\n  line1\n  line2\nb: >\n  folded\n  text\n"), R"({"a":"line1\nline2\n","b":"folded text\n"})");
  EXPECT_EQ(json("[500m, 1Gi, \"1\", 100M]"), R"(["500m","1Gi","1","100M"])");
}

TEST(YamlJson, ExplicitTags) {
  EXPECT_EQ(json("[!!str 123, !!int \"7\", !!float 1, !!bool yes, !!null ~]"), R"(["123",7,1,true,null])");
  EXPECT_NE(error_of("a: !!int abc").find("not a valid int"), std::string::npos);
  EXPECT_NE(error_of("a: !custom x").find("unsupported tag"), std::string::npos);
}

TEST(YamlJson, KeysBecomeStringsInDocumentOrder) {
  EXPECT_EQ(json("b: 1\na: 2\nyes: 3\n0x10: 4\n~: 5"), R"({"b":1,"a":2,"true":3,"16":4,"null":5})");
}

TEST(YamlJson, YesNoKeysAreBooleansLikeKubectl) {
  // YAML 1.1 as go-yaml v2 reads it: a key "y" or "on" is a boolean, so it turns into "true".
  EXPECT_EQ(json("y: 1\n\"n\": 3"), R"({"true":1,"n":3})");
  EXPECT_EQ(error_of("y: 1\non: 2\n"), "line 2, column 1: duplicate key \"true\"");
}

TEST(YamlJson, DuplicateKeysAreErrorsWithPosition) {
  EXPECT_EQ(error_of("a: 1\nb: 2\na: 3\n"), "line 3, column 1: duplicate key \"a\"");
}

TEST(YamlJson, ComplexKeysAreErrors) {
  EXPECT_NE(error_of("? [a, b]\n: 1\n").find("must be a scalar"), std::string::npos);
}

TEST(YamlJson, AnchorsAliasesAndMergeKeys) {
  EXPECT_EQ(json("base: &b {x: 1, z: 2}\nuse: *b\n"), R"({"base":{"x":1,"z":2},"use":{"x":1,"z":2}})");
  EXPECT_EQ(json("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\n"), R"({"base":{"x":1,"z":2},"m":{"z":3,"x":1}})");
  EXPECT_EQ(json("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n"),
            R"({"a":{"x":1},"b":{"x":2,"z":2},"m":{"x":1,"z":2}})");
  EXPECT_NE(error_of("m:\n  <<: 5\n").find("merge key"), std::string::npos);
}

TEST(YamlJson, AliasBombsHitTheBudget) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  EXPECT_NE(error_of(bomb).find("document too large"), std::string::npos);
}

TEST(YamlJson, DeepNestingIsAnError) {
  EXPECT_FALSE(error_of(std::string(500, '[') + std::string(500, ']')).empty());
  EXPECT_FALSE(error_of(std::string(5000, '[')).empty());
}

TEST(YamlJson, MultipleDocumentsSkipEmptyOnes) {
  std::string error;
  auto docs = yaml_to_json("---\na: 1\n---\n---\n# only a comment\n---\n- 2\n", &error);
  ASSERT_TRUE(docs) << error;
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].serialize(), R"({"a":1})");
  EXPECT_EQ((*docs)[1].serialize(), "[2]");
  docs = yaml_to_json("", &error);
  ASSERT_TRUE(docs);
  EXPECT_TRUE(docs->empty());
}

TEST(YamlJson, StrayCommasAreErrorsNotEndlessDocuments) {
  // yaml-cpp 0.7's LoadAll loops forever on these (found by hack/fuzz.sh).
  for (const char* text : {"{},\n", ",\n", "\"x\",\n", "[],\n", "[a]\n,b\n", "{}, a\n"}) {
    EXPECT_NE(error_of(text).find("unexpected content"), std::string::npos) << text;
  }
}

TEST(YamlJson, AliasToAnUnfinishedAnchorIsAnError) {
  EXPECT_FALSE(error_of("a: &x [*x]\n").empty());
}

TEST(YamlJson, SyntaxErrorsCarryLineAndColumn) {
  const std::string error = error_of("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_EQ(error.rfind("line ", 0), 0u) << error;
  EXPECT_NE(error_of("a: b: c").find("line 1"), std::string::npos);
  EXPECT_FALSE(error_of("a: 'unterminated").empty());
  EXPECT_FALSE(error_of("\t- a").empty());
}

}  // namespace
}  // namespace wo::api
