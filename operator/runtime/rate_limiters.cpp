#include "rate_limiters.h"

#include <algorithm>
#include <cmath>

namespace wo::runtime {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(Duration base, Duration max) : base_(base), max_(max) {}

Duration ItemExponentialRateLimiter::when(const std::string& key) {
  std::lock_guard lock(mu_);
  const int n = failures_[key]++;
  // Computed in double so that 2^n cannot overflow for keys that failed many times.
  const double d = static_cast<double>(base_.count()) * std::pow(2.0, std::min(n, 62));
  if (d >= static_cast<double>(max_.count())) return max_;
  return Duration(static_cast<Duration::rep>(d));
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::num_requeues(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

Duration MaxOfRateLimiter::when(const std::string& key) {
  Duration d = Duration::zero();
  for (auto& p : parts_) d = std::max(d, p->when(key));
  return d;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (auto& p : parts_) p->forget(key);
}

int MaxOfRateLimiter::num_requeues(const std::string& key) {
  int n = 0;
  for (auto& p : parts_) n = std::max(n, p->num_requeues(key));
  return n;
}

std::unique_ptr<RateLimiter> default_controller_rate_limiter(const Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> parts;
  parts.push_back(
      std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(5), std::chrono::seconds(1000)));
  parts.push_back(std::make_unique<BucketRateLimiter>(10.0, 100, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(parts));
}

}  // namespace wo::runtime
