#include "runtime/leader_election.h"

#include <gtest/gtest.h>

namespace wo::runtime {
namespace {

TEST(LeaderElection, MicroTimeHasSixFractionalDigits) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000123456LL));
  EXPECT_EQ(format_micro_time(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(format_micro_time(std::chrono::system_clock::time_point(std::chrono::seconds(0))),
            "1970-01-01T00:00:00.000000Z");
}

TEST(LeaderElection, IdentityIsHostnamePlusSuffix) {
  const std::string a = default_identity(), b = default_identity();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find('_'), std::string::npos);
}

}  // namespace
}  // namespace wo::runtime
