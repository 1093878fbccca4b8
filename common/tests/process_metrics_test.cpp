#include "wo/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <sstream>
#include <string>

namespace wo::metrics {
namespace {

// The value of an unlabelled sample in the exposition text, or -1 when it is absent.
double sample(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(ProcessMetrics, ReadTheRunningProcess) {
  Registry registry;
  register_process_metrics(registry);
  // Burn CPU until the process has used 50 ms of it, so the counter, which /proc keeps in clock ticks
  // (10 ms), has something to show. A fixed loop count was not enough on a fast machine: it finished
  // within one tick and the counter read 0 (a fresh-clone CI run on 2026-12-07).
  volatile double x = 0;
  const std::clock_t start = std::clock();
  while (std::clock() - start < CLOCKS_PER_SEC / 20) {
    for (int i = 0; i < 100'000; ++i) x = x + i * 0.5;
  }
  const std::string first = registry.render();
  EXPECT_GT(sample(first, "process_resident_memory_bytes"), 1024.0 * 1024);
  EXPECT_GT(sample(first, "process_virtual_memory_bytes"), sample(first, "process_resident_memory_bytes"));
  EXPECT_GE(sample(first, "process_open_fds"), 3);  // at least stdin, stdout, stderr
  EXPECT_GE(sample(first, "process_max_fds"), sample(first, "process_open_fds"));
  EXPECT_GT(sample(first, "process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(sample(first, "process_start_time_seconds"), now + 1);
  EXPECT_GT(sample(first, "process_start_time_seconds"), now - 3600);  // this test started recently
  EXPECT_NE(first.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);

  // Another open descriptor shows at the next scrape.
  const int fd = open("/dev/null", O_RDONLY);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  ASSERT_GE(fd, 0);
  const std::string second = registry.render();
  EXPECT_EQ(sample(second, "process_open_fds"), sample(first, "process_open_fds") + 1);
  close(fd);
  EXPECT_GE(sample(second, "process_cpu_seconds_total"), sample(first, "process_cpu_seconds_total"));
}

TEST(ProcessMetrics, BuildInfoIsOneWithVersionAndCommit) {
  Registry registry;
  register_build_info(registry, "worker", "0.1.0", "abc123");
  EXPECT_NE(registry.render().find(R"(worker_build_info{version="0.1.0",commit="abc123"} 1)"), std::string::npos)
      << registry.render();
}

}  // namespace
}  // namespace wo::metrics
