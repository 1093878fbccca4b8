#include "testing/fake_clock.h"

#include <algorithm>

namespace wo::testing {

Clock::time_point FakeClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

bool FakeClock::sleep_until(std::stop_token stop, time_point until) const {
  std::unique_lock lock(mu_);
  const auto self = sleepers_.insert(sleepers_.end(), {until, stop});
  changed_.notify_all();
  changed_.wait(lock, stop, [&] { return now_ >= until; });
  sleepers_.erase(self);
  changed_.notify_all();
  return !stop.stop_requested();
}

void FakeClock::advance(duration d) {
  std::lock_guard lock(mu_);
  now_ += d;
  changed_.notify_all();
}

int FakeClock::sleepers_locked() const {
  // A stop request notifies changed_ (through the stop_token wait), so waiters of wait_for_sleepers see it.
  return static_cast<int>(std::count_if(sleepers_.begin(), sleepers_.end(),
                                        [&](const Sleeper& s) { return s.until > now_ && !s.stop.stop_requested(); }));
}

int FakeClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_locked();
}

bool FakeClock::wait_for_sleepers(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return sleepers_locked() >= n; });
}

}  // namespace wo::testing
