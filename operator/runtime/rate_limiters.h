// Per-key retry delays for the work queue (client-go's workqueue rate limiters).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/rate_limiter.h"
#include "wo/clock.h"

namespace wo::runtime {

using Duration = Clock::duration;

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // How long to wait before processing key again; counts a failure for key.
  virtual Duration when(const std::string& key) = 0;
  // The key succeeded: reset its failures.
  virtual void forget(const std::string& key) = 0;
  virtual int num_requeues(const std::string& key) = 0;
};

// base * 2^failures, capped at max.
class ItemExponentialRateLimiter : public RateLimiter {
 public:
  ItemExponentialRateLimiter(Duration base, Duration max);
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) override;

 private:
  std::mutex mu_;
  Duration base_, max_;
  std::map<std::string, int> failures_;
};

// One shared token bucket over all keys: bounds the overall retry rate.
class BucketRateLimiter : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, const Clock& clock = steady_clock()) : bucket_(qps, burst, clock) {}
  Duration when(const std::string&) override { return bucket_.reserve(); }
  void forget(const std::string&) override {}
  int num_requeues(const std::string&) override { return 0; }

 private:
  kube::TokenBucket bucket_;
};

// The longest delay of its parts.
class MaxOfRateLimiter : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> parts) : parts_(std::move(parts)) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int num_requeues(const std::string& key) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> parts_;
};

// controller-runtime's classic default: max(per-key 5 ms → 1000 s, overall 10 qps / burst 100), the
// bucket refilling by `clock` (which must outlive the limiter).
std::unique_ptr<RateLimiter> default_controller_rate_limiter(const Clock& clock = steady_clock());

}  // namespace wo::runtime
