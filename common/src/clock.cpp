#include "wo/clock.h"

#include <condition_variable>
#include <mutex>

namespace wo {
namespace {

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }

  bool sleep_until(std::stop_token stop, time_point until) const override {
    // A condition variable nobody notifies: only the deadline or the stop request (through the
    // stop_token overload, which wakes the wait at once) ends it.
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    if (until == time_point::max()) {
      cv.wait(lock, stop, [] { return false; });
    } else {
      cv.wait_until(lock, stop, until, [] { return false; });
    }
    return !stop.stop_requested();
  }
};

}  // namespace

bool Clock::sleep_for(std::stop_token stop, duration d) const {
  const time_point start = now();
  const time_point until = d >= time_point::max() - start ? time_point::max() : start + d;
  return sleep_until(std::move(stop), until);
}

const Clock& steady_clock() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace wo
