#include "wo/text.h"

#include <gtest/gtest.h>

#include <string>

namespace wo::text {
namespace {

// NOLINTNEXTLINE(cert-err58-cpp): a test constant; an exception here (only bad_alloc) aborts the test binary
const std::string kE = "\xC3\xA9";  // é, 2 bytes
// NOLINTNEXTLINE(cert-err58-cpp): as above
const std::string kFFFD = "\xEF\xBF\xBD";  // U+FFFD

TEST(Text, ValidTextPassesUnchanged) {
  const std::string s = "plain ascii, " + kE + ", \xE2\x82\xAC (euro), \xF0\x9F\x98\x80 (emoji)";
  EXPECT_EQ(clean(s), s);
  EXPECT_TRUE(is_clean(s));
}

TEST(Text, NulBytesAreDropped) {
  const std::string s("a\0b\0", 4);
  EXPECT_FALSE(is_clean(s));
  EXPECT_EQ(clean(s), "ab");
}

TEST(Text, InvalidSequencesBecomeTheReplacementCharacter) {
  EXPECT_EQ(clean("a\xFF"
                  "b"),
            "a" + kFFFD + "b");
  EXPECT_EQ(clean("\x80"), kFFFD);                                      // stray continuation byte
  EXPECT_EQ(clean("\xC0\xAF"), kFFFD + kFFFD);                          // overlong '/'
  EXPECT_EQ(clean("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD);              // a UTF-16 surrogate
  EXPECT_EQ(clean("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);  // past U+10FFFF
  EXPECT_EQ(clean("ab\xC3"), "ab" + kFFFD);                             // truncated at the end
  EXPECT_TRUE(is_clean(clean("\xC3(\xE2\x82(\xF0\x9F\x98")));
}

TEST(Text, CutsOnACharacterBoundaryWithAnEllipsis) {
  std::string many;
  for (int i = 0; i < 2048; ++i) many += kE;  // 4 KiB of é: the worker's failing command
  for (std::size_t max : {1024u, 1023u, 100u, 5u, 4u, 3u, 2u, 0u}) {
    const std::string out = clean(many, max);
    EXPECT_LE(out.size(), max) << max;
    EXPECT_TRUE(is_clean(out)) << max;
    if (max >= 3) {
      EXPECT_TRUE(out.ends_with("...")) << max;
    }
  }
  EXPECT_EQ(clean(many, 1024).size(), 1023u);  // 510 é and "..."
  EXPECT_EQ(clean(many, 1023).size(), 1023u);
  EXPECT_EQ(clean("abcdef", 6), "abcdef");  // fits exactly: no cut
  EXPECT_EQ(clean("abcdefg", 6), "abc...");
}

TEST(Text, TheSameInputGivesTheSameOutput) {
  const std::string s = std::string(3000, 'x') + kE + "\xFF";
  EXPECT_EQ(clean(s, 1024), clean(s, 1024));
  EXPECT_EQ(clean(clean(s, 1024), 1024), clean(s, 1024)) << "cleaning is idempotent";
}

TEST(Text, JsonStringsEscapeQuotesBackslashesAndControlCharacters) {
  auto json = [](std::string_view in) {
    std::string out = "x=";
    append_json_string(out, in);
    return out;
  };
  EXPECT_EQ(json("plain"), "x=\"plain\"") << "appended";
  EXPECT_EQ(json("say \"hi\"\\"), "x=\"say \\\"hi\\\"\\\\\"");
  EXPECT_EQ(json("a\nb\tc\rd"), "x=\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(json(std::string("\x01\x1f", 2)), "x=\"\\u0001\\u001f\"");
  EXPECT_EQ(json("caf\xc3\xa9"), "x=\"caf\xc3\xa9\"") << "UTF-8 passes through";
}

}  // namespace
}  // namespace wo::text
