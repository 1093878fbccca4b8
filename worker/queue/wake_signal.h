// Wakes a sleeping loop: notify() from any thread; the loop's wait returns early once notified (and
// clears the signal). A notification sent while the loop is busy is kept for its next wait. A
// notification may ask the loop to look for work (a NOTIFY arrived), which a plain wake-up (a handler
// returned) does not.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace wo::queue {

class WakeSignal {
 public:
  using Clock = std::chrono::steady_clock;

  void notify(bool look_for_work = false) {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
      look_for_work_ = look_for_work_ || look_for_work;
    }
    cv_.notify_all();
  }
  // Sleeps until notified or until; returns whether a notification asked to look for work. Clears the
  // signal.
  bool wait_until(Clock::time_point until) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return woken_; });
    woken_ = false;
    return std::exchange(look_for_work_, false);
  }
  // The same without waiting.
  bool take() {
    std::lock_guard lock(mu_);
    woken_ = false;
    return std::exchange(look_for_work_, false);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool look_for_work_ = false;
};

}  // namespace wo::queue
