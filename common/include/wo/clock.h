// Where time comes from: the steady time that deadlines, delays, rate limits and backoffs are measured
// in, and waiting for it that a std::stop_token interrupts at once.
//
// Components that wait or measure take a `const Clock&` (defaulting to steady_clock()), so that their
// tests can run on testing::FakeClock (common/testing/fake_clock.h) and move time by hand instead of
// sleeping through it. Wall time for timestamps written to the API (e.g. a Lease's renewTime) is not
// the clock's business: it stays std::chrono::system_clock.
#pragma once

#include <chrono>
#include <stop_token>

namespace wo {

class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  virtual time_point now() const = 0;
  // Blocks until now() reaches `until` or `stop` is requested, whichever comes first; returns false when
  // stop was requested. time_point::max() waits for stop alone.
  virtual bool sleep_until(std::stop_token stop, time_point until) const = 0;

  // sleep_until(now() + d); a `d` beyond the end of time waits for stop alone.
  bool sleep_for(std::stop_token stop, duration d) const;
};

// std::chrono::steady_clock as a Clock: the one every component uses unless a test gives it another.
const Clock& steady_clock();

}  // namespace wo
