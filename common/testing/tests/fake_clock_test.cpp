#include "testing/fake_clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace wo::testing {
namespace {

using namespace std::chrono_literals;

TEST(FakeClock, StandsStillUntilAdvanced) {
  FakeClock clock;
  const auto start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(90s);
  EXPECT_EQ(clock.now() - start, 90s);
}

TEST(FakeClock, ASleeperWakesWhenTimeReachesItsDeadlineAndNotBefore) {
  FakeClock clock;
  std::atomic<bool> woke{false};
  std::jthread sleeper([&] {
    EXPECT_TRUE(clock.sleep_for({}, 1h));
    woke = true;
  });
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  clock.advance(59min);
  EXPECT_EQ(clock.sleepers(), 1);
  EXPECT_FALSE(woke.load());
  clock.advance(1min);
  sleeper.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(FakeClock, AStopRequestWakesASleeper) {
  FakeClock clock;
  std::jthread sleeper([&](std::stop_token stop) { EXPECT_FALSE(clock.sleep_for(stop, 1h)); });
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  sleeper.request_stop();
  sleeper.join();
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(FakeClock, APastDeadlineDoesNotSleep) {
  FakeClock clock;
  EXPECT_TRUE(clock.sleep_until({}, clock.now()));
  EXPECT_TRUE(clock.sleep_for({}, -1s));
}

}  // namespace
}  // namespace wo::testing
