// The shutdown state shared by all routines of a worker process: whether stopping was requested and by
// when everything must be done (the shutdown deadline).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace wo::worker {

class StopState {
 public:
  using Clock = std::chrono::steady_clock;

  // Requests a stop that must complete by deadline. The first request wins; callbacks run once.
  void request(Clock::time_point deadline);
  bool requested() const;
  // The shutdown deadline; Clock::time_point::max() until a stop is requested.
  Clock::time_point deadline() const;
  // Sleeps up to d; returns true (early) when a stop is requested.
  bool wait_for(std::chrono::milliseconds d) const;
  // Runs f when a stop is requested (at once if it already was), e.g. to wake a routine's own
  // condition variable. f must not block.
  void on_request(std::function<void()> f) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool requested_ = false;
  Clock::time_point deadline_ = Clock::time_point::max();
  mutable std::vector<std::function<void()>> callbacks_;
};

}  // namespace wo::worker
