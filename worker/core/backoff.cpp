#include "core/backoff.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace wo::worker {

std::chrono::milliseconds retry_delay(int failures, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                      double jitter) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  jitter = std::clamp(jitter, 0.0, 0.5);
  int exponent = std::clamp(failures, 1, 63) - 1;
  // Doubles, so the shift cannot overflow; the cap applies before jitter.
  double base = static_cast<double>(initial.count()) * std::pow(2.0, exponent);
  base = std::min(base, static_cast<double>(max.count()));
  std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
  double d = base * (jitter > 0 ? factor(rng) : 1.0);
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, d)));
}

}  // namespace wo::worker
