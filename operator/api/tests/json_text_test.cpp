#include "api/json_text.h"

#include <gtest/gtest.h>

namespace wo::api {
namespace {

using web::json::value;

value parse(const std::string& text) {
  std::string error;
  auto v = parse_json(text, &error);
  EXPECT_TRUE(v) << error;
  return v.value_or(value::null());
}

TEST(JsonText, PrettyPrintsInTheValuesOrder) {
  value v = value::object(true);
  v["b"] = value::number(1);
  v["a"] = value::array({value::string("x"), value::boolean(true), value::null()});
  v["e"] = value::object();
  v["f"] = value::array();
  EXPECT_EQ(to_pretty_json(v),
            "{\n  \"b\": 1,\n  \"a\": [\n    \"x\",\n    true,\n    null\n  ],\n  \"e\": {},\n  \"f\": []\n}\n");
}

TEST(JsonText, EscapesStrings) {
  EXPECT_EQ(to_pretty_json(value::string("a\"b\\c\nd\t\x01")), "\"a\\\"b\\\\c\\nd\\t\\u0001\"\n");
  EXPECT_EQ(to_pretty_json(value::string("ünï")), "\"ünï\"\n");
}

TEST(JsonText, WritesShortestNumbers) {
  EXPECT_EQ(to_pretty_json(parse("0.1")), "0.1\n");
  EXPECT_EQ(to_pretty_json(parse("-5")), "-5\n");
  EXPECT_EQ(to_pretty_json(parse("18446744073709551615")), "18446744073709551615\n");
  EXPECT_EQ(to_pretty_json(parse("1.5e300")), "1.5e+300\n");
}

TEST(JsonText, SortedKeysIsDeepAndStable) {
  const value v = parse(R"({"b": {"z": 1, "y": [{"d": 1, "c": 2}]}, "a": 0})");
  EXPECT_EQ(sorted_keys(v).serialize(), R"({"a":0,"b":{"y":[{"c":2,"d":1}],"z":1}})");
  EXPECT_EQ(to_pretty_json(sorted_keys(v)), to_pretty_json(sorted_keys(sorted_keys(v))));
}

TEST(JsonText, MalformedJsonIsAnErrorNotAnException) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "nul", "{\"a\" 1}", "\"unterminated"}) {
    std::string error;
    EXPECT_FALSE(parse_json(bad, &error)) << bad;
    EXPECT_NE(error.find("malformed JSON"), std::string::npos) << bad << ": " << error;
  }
}

TEST(JsonText, RefusesDeepNestingBeforeParsing) {
  std::string error;
  EXPECT_FALSE(parse_json(std::string(100000, '['), &error));
  EXPECT_NE(error.find("deeper than"), std::string::npos);
  EXPECT_TRUE(parse_json(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']'), &error));
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_json("\"" + std::string(1000, '[') + "\"", &error));
}

}  // namespace
}  // namespace wo::api
