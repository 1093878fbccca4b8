#include "runtime/leader_election.h"

#include <gtest/gtest.h>

namespace wo::runtime {
namespace {

TEST(LeaderElection, IdentityIsHostnamePlusSuffix) {
  const std::string a = default_identity(), b = default_identity();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find('_'), std::string::npos);
}

}  // namespace
}  // namespace wo::runtime
