#include "wo/log.h"

#include <gtest/gtest.h>

namespace wo::log {
namespace {

TEST(Log, JsonLineEscapesMessageAndFields) {
  const std::string line =
      render(Format::json, Level::warn, "operator", "say \"hi\"\n", {{"name", "a\\b"}, {"count", 3}, {"ok", true}});
  EXPECT_NE(line.find(R"("level":"warn","logger":"operator","msg":"say \"hi\"\n")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("name":"a\\b","count":3,"ok":true})"), std::string::npos) << line;
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
}

TEST(Log, JsonEscapesControlCharacters) {
  const std::string line = render(Format::json, Level::info, "w", std::string("a\x01", 2), {});
  EXPECT_NE(line.find(R"("msg":"a\u0001")"), std::string::npos) << line;
}

TEST(Log, TextLineQuotesOnlyAmbiguousValues) {
  const std::string line = render(Format::text, Level::info, "worker", "started",
                                  {{"job", "campaigns.reconciler"}, {"reason", "two words"}});
  EXPECT_NE(line.find(" INFO worker started job=campaigns.reconciler reason=\"two words\""), std::string::npos) << line;
}

TEST(Log, NonFiniteDoublesAreStrings) {
  const std::string line = render(Format::json, Level::info, "w", "m", {{"x", 1.0 / 0.0}, {"y", 0.25}});
  EXPECT_NE(line.find(R"("x":"+Inf","y":0.25)"), std::string::npos) << line;
}

TEST(Log, ParsesFormatsAndLevels) {
  EXPECT_EQ(parse_format("json"), Format::json);
  EXPECT_EQ(parse_level("warning"), Level::warn);
  EXPECT_THROW(parse_format("xml"), std::invalid_argument);
  EXPECT_THROW(parse_level("loud"), std::invalid_argument);
}

}  // namespace
}  // namespace wo::log
