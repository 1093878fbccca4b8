// Exponential backoff with jitter, for record retries and reconnects.
#pragma once

#include <chrono>

namespace wo::worker {

// The delay before attempt number failures+1, after `failures` consecutive failures (1-based):
// initial * 2^(failures-1), capped at max, then multiplied by a random factor in [1-jitter, 1+jitter]
// (jitter in [0, 0.5]) so that records failing together do not retry in lock-step. With jitter <= 0.3
// each uncapped delay is strictly longer than the previous one.
std::chrono::milliseconds retry_delay(int failures, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                      double jitter);

}  // namespace wo::worker
