#include "kube/time.h"

#include <gtest/gtest.h>

namespace wo::kube {
namespace {

TEST(KubeTime, FormatsAndParsesRfc3339) {
  EXPECT_EQ(format_time(*parse_time("2026-11-28T04:00:00Z")), "2026-11-28T04:00:00Z");
  EXPECT_EQ(format_time(*parse_time("2026-11-28T05:00:00.123+01:00")), "2026-11-28T04:00:00Z");
  EXPECT_FALSE(parse_time("yesterday").has_value());
  EXPECT_FALSE(parse_time("2026-11-28T04:00:00").has_value());
}

TEST(KubeTime, MicroTimeHasSixFractionalDigits) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000123456LL));
  EXPECT_EQ(format_micro_time(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(format_micro_time(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_time(*parse_time(format_micro_time(t))), "2023-11-14T22:13:20Z");
}

}  // namespace
}  // namespace wo::kube
