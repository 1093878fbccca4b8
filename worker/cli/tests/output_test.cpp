// Unit tests of the commands' printing: JSON string escaping and aligned tables.
#include <gtest/gtest.h>

#include "cli/output.h"

namespace wo::worker::cli {
namespace {

TEST(OutputTest, JsonStringsAreQuotedEscapedAndAlwaysValidUtf8) {
  EXPECT_EQ(json_string("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(json_string("bad \xff byte"), "\"bad \xef\xbf\xbd byte\"") << "invalid UTF-8 becomes U+FFFD";
}

TEST(OutputTest, TablesAlignOnTheWidestCellInCharactersWithoutTrailingSpaces) {
  EXPECT_EQ(format_table({{"ID", "STATE", "MESSAGE"}, {"12", "failed", ""}, {"3", "queued", "caf\xc3\xa9"}}),
            "ID  STATE   MESSAGE\n"
            "12  failed\n"
            "3   queued  caf\xc3\xa9\n");
  EXPECT_EQ(format_table({{"caf\xc3\xa9", "x"}, {"ab", "y"}}), "caf\xc3\xa9  x\nab    y\n");
  EXPECT_EQ(format_table({}), "");
}

}  // namespace
}  // namespace wo::worker::cli
