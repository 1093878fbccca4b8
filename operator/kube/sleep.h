// Waiting that a std::stop_token interrupts at once (backoffs, retry periods, rate limits).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace wo::kube {

// Sleeps for d unless stop is requested first; returns false when stopped.
template <typename Rep, typename Period>
bool sleep_for(std::stop_token stop, std::chrono::duration<Rep, Period> d) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace wo::kube
