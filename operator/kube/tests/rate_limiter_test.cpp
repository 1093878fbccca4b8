// The token bucket on a FakeClock: time moves only when the test says, so every delay is exact.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/fake_clock.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;
using wo::testing::FakeClock;

TEST(TokenBucket, BurstThenThrottleThenRefill) {
  FakeClock clock;
  TokenBucket b(1.0, 3, clock);
  EXPECT_TRUE(b.try_take());
  EXPECT_TRUE(b.try_take());
  EXPECT_TRUE(b.try_take());
  EXPECT_FALSE(b.try_take());
  clock.advance(999ms);
  EXPECT_FALSE(b.try_take());
  clock.advance(1ms);
  EXPECT_TRUE(b.try_take()) << "one token a second";
  clock.advance(1h);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_take()) << "refilled up to the burst, " << i;
  EXPECT_FALSE(b.try_take()) << "and no further";
}

TEST(TokenBucket, ReserveBorrowsFromTheFuture) {
  FakeClock clock;
  TokenBucket b(10.0, 1, clock);
  EXPECT_EQ(b.reserve(), Clock::duration::zero());
  EXPECT_EQ(b.reserve(), Clock::duration(100ms));
  EXPECT_EQ(b.reserve(), Clock::duration(200ms));
  clock.advance(200ms);  // pays the debt of the two borrowed tokens
  EXPECT_EQ(b.reserve(), Clock::duration(100ms));
}

TEST(TokenBucket, ZeroQpsIsUnlimited) {
  FakeClock clock;
  TokenBucket b(0, 1, clock);
  EXPECT_TRUE(b.unlimited());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.try_take());
  EXPECT_EQ(b.reserve(), Clock::duration::zero());
}

TEST(TokenBucket, WaitSleepsUntilTheTokenRefills) {
  FakeClock clock;
  TokenBucket b(10.0, 1, clock);
  ASSERT_TRUE(b.try_take());
  std::atomic<bool> got{false};
  std::jthread waiter([&] { got = b.wait(); });
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  clock.advance(99ms);
  EXPECT_FALSE(got.load());
  clock.advance(1ms);
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(TokenBucket, WaitReturnsEarlyOnStop) {
  FakeClock clock;
  TokenBucket b(0.001, 1, clock);  // the second token would take ~17 min
  ASSERT_TRUE(b.try_take());
  std::stop_source stop;
  std::jthread stopper([&] {
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    stop.request_stop();
  });
  EXPECT_FALSE(b.wait(stop.get_token()));
}

}  // namespace
}  // namespace wo::kube
