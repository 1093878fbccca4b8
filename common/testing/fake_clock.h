// A Clock for tests: time stands still until the test moves it with advance(), and sleepers wake as
// soon as it reaches their time, so code that waits seconds or hours is tested in microseconds and
// without a timing assertion that a loaded machine could break.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stop_token>

#include "wo/clock.h"

namespace wo::testing {

class FakeClock final : public Clock {
 public:
  // Starts an hour after the epoch of steady time, so that `now() - something` never underflows.
  FakeClock() = default;

  time_point now() const override;
  bool sleep_until(std::stop_token stop, time_point until) const override;

  // Moves time forward by d and wakes every sleeper whose time has come.
  void advance(duration d);
  // How many threads sleep on this clock for a time still to come (a sleeper whose time has come, or
  // whose stop was requested, but that has not yet woken up does not count).
  int sleepers() const;
  // Blocks (in real time, up to `timeout`) until sleepers() >= n: the code under test has done what
  // the time so far asked of it and waits for more, so the test may look at its state or advance
  // time again. Returns whether it happened.
  bool wait_for_sleepers(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable_any changed_;  // time moved, or a sleeper came or went
  time_point now_ = time_point{} + std::chrono::hours(1);
  struct Sleeper {
    time_point until;
    std::stop_token stop;
  };
  mutable std::list<Sleeper> sleepers_;

  int sleepers_locked() const;
};

}  // namespace wo::testing
