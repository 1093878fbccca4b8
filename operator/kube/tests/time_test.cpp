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

}  // namespace
}  // namespace wo::kube
