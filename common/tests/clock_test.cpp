#include "wo/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <thread>

namespace wo {
namespace {

using namespace std::chrono_literals;

TEST(SteadyClock, SleepsUntilTheTime) {
  const Clock& clock = steady_clock();
  const auto start = clock.now();
  EXPECT_TRUE(clock.sleep_for({}, 5ms));
  EXPECT_GE(clock.now() - start, 5ms);
}

TEST(SteadyClock, AStopRequestEndsTheSleepAtOnce) {
  std::stop_source stop;
  std::jthread stopper([&] { stop.request_stop(); });
  EXPECT_FALSE(steady_clock().sleep_for(stop.get_token(), 24h));
  EXPECT_FALSE(steady_clock().sleep_until(stop.get_token(), Clock::time_point::max()));
}

TEST(SteadyClock, ADurationBeyondTheEndOfTimeWaitsForStopAlone) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(steady_clock().sleep_for(stop.get_token(), Clock::duration::max()));
}

}  // namespace
}  // namespace wo
