#include "rate_limiter.h"

#include <algorithm>
#include <utility>

namespace wo::kube {

TokenBucket::TokenBucket(double qps, int burst, const Clock& clock)
    : clock_(clock), qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(clock.now()) {}

void TokenBucket::refill(Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  if (elapsed > 0) {
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
}

bool TokenBucket::try_take() {
  if (unlimited()) return true;
  std::lock_guard lock(mu_);
  refill(clock_.now());
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

Clock::duration TokenBucket::reserve() {
  if (unlimited()) return Clock::duration::zero();
  std::lock_guard lock(mu_);
  refill(clock_.now());
  tokens_ -= 1.0;  // may go negative: the debt is what later callers wait for
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / qps_));
}

bool TokenBucket::wait(std::stop_token stop) {
  const auto delay = reserve();
  if (delay <= Clock::duration::zero()) return true;
  return clock_.sleep_for(std::move(stop), delay);
}

}  // namespace wo::kube
