#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>

namespace wo::kube {
namespace {

TEST(TokenBucket, BurstThenThrottle) {
  TokenBucket b(1.0, 3);  // 1 token/s refill is slow next to this test
  EXPECT_TRUE(b.try_take());
  EXPECT_TRUE(b.try_take());
  EXPECT_TRUE(b.try_take());
  EXPECT_FALSE(b.try_take());
}

TEST(TokenBucket, ReserveBorrowsFromTheFuture) {
  TokenBucket b(10.0, 1);
  EXPECT_EQ(b.reserve(), TokenBucket::Clock::duration::zero());
  const auto first = b.reserve();   // about 100 ms of debt
  const auto second = b.reserve();  // about 200 ms
  EXPECT_GT(first, TokenBucket::Clock::duration::zero());
  EXPECT_LE(first, std::chrono::milliseconds(100));
  EXPECT_GT(second, first);
  EXPECT_LE(second, std::chrono::milliseconds(200));
}

TEST(TokenBucket, ZeroQpsIsUnlimited) {
  TokenBucket b(0, 1);
  EXPECT_TRUE(b.unlimited());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.try_take());
  EXPECT_EQ(b.reserve(), TokenBucket::Clock::duration::zero());
}

TEST(TokenBucket, WaitReturnsEarlyOnStop) {
  TokenBucket b(0.001, 1);  // the second token would take ~17 min
  ASSERT_TRUE(b.try_take());
  std::stop_source stop;
  std::thread t([&] { stop.request_stop(); });
  EXPECT_FALSE(b.wait(stop.get_token()));
  t.join();
}

}  // namespace
}  // namespace wo::kube
