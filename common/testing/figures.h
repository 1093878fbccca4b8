// What the benchmarks share to turn samples into figures: a summary over rounds (median, min, max), a
// percentile, and the machine's load average to stamp them with (the machine may be shared).
#pragma once

#include <string>
#include <vector>

namespace wo::testing {

// One figure over the rounds: their median, minimum, maximum, and each round's value in order.
struct Summary {
  double median = 0, min = 0, max = 0;
  std::vector<double> samples;
};

// Throws std::logic_error for no samples: a figure of nothing is a bench's bug.
Summary summarize(const std::vector<double>& samples);

// The q-quantile (0 < q <= 1) by the nearest-rank method: the smallest value with at least q of the
// values at or below it. 0 for no values.
double percentile(std::vector<double> values, double q);

// The load average (1, 5 and 15 minutes) as /proc/loadavg has it, or why it could not be read.
std::string load_average();

}  // namespace wo::testing
