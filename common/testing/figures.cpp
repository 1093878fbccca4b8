#include "testing/figures.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

namespace wo::testing {

Summary summarize(const std::vector<double>& samples) {
  if (samples.empty()) throw std::logic_error("no samples to summarise");
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {median, sorted.front(), sorted.back(), samples};
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown (/proc/loadavg unreadable)";
  return one + " " + five + " " + fifteen;
}

}  // namespace wo::testing
