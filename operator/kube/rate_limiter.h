// A token bucket: `qps` tokens per second refill a bucket of `burst` tokens. qps <= 0 means unlimited.
// Used by the REST client (--qps/--burst) and by the work queue's overall retry limit.
#pragma once

#include <mutex>
#include <stop_token>

#include "wo/clock.h"

namespace wo::kube {

class TokenBucket {
 public:
  // `clock` must outlive the bucket.
  TokenBucket(double qps, int burst, const Clock& clock = steady_clock());

  bool unlimited() const { return qps_ <= 0; }
  // Takes a token now if one is available.
  bool try_take();
  // Takes a token, possibly from the future: returns how long the caller must wait before using it
  // (zero when one was available). Never blocks.
  Clock::duration reserve();
  // Blocks until a token is available; returns false when stop was requested first (token not taken back).
  bool wait(std::stop_token stop = {});

 private:
  void refill(Clock::time_point now);
  const Clock& clock_;
  std::mutex mu_;
  double qps_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace wo::kube
