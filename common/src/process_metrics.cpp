#include "wo/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace wo::metrics {

namespace {

// The fields of /proc/self/stat after the command name (which may contain spaces and parentheses, so the
// split starts after its last ')'). fields[0] is field 3 (state) of proc(5).
std::vector<std::string> self_stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

double field(const std::vector<std::string>& fields, std::size_t proc5_number) {
  const std::size_t i = proc5_number - 3;
  if (i >= fields.size()) return 0;
  try {
    return std::stod(fields[i]);
  } catch (const std::exception&) {
    return 0;
  }
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n > 0 ? n - 1 : 0;  // not the descriptor the iteration itself holds open
}

}  // namespace

void register_process_metrics(Registry& registry) {
  auto& cpu =
      registry.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.").with({});
  auto& rss = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").with({});
  auto& vsize = registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").with({});
  auto& fds = registry.gauge("process_open_fds", "Number of open file descriptors.").with({});
  auto& max_fds = registry.gauge("process_max_fds", "Maximum number of open file descriptors.").with({});
  auto& start =
      registry.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.").with({});
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (ticks <= 0) return;
  // The start time never changes: read once, here, not at every scrape.
  if (const auto stat = self_stat_fields(); !stat.empty()) start.set(boot_time_seconds() + field(stat, 22) / ticks);
  registry.on_collect([&cpu, &rss, &vsize, &fds, &max_fds, ticks, page] {
    const auto stat = self_stat_fields();
    if (stat.empty()) return;
    // A counter only rises: add what was used since the last scrape.
    const double used = (field(stat, 14) + field(stat, 15)) / ticks;
    if (used > cpu.value()) cpu.inc(used - cpu.value());
    vsize.set(field(stat, 23));
    rss.set(field(stat, 24) * page);
    fds.set(open_fds());
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) max_fds.set(static_cast<double>(limit.rlim_cur));
  });
}

void register_build_info(Registry& registry, std::string_view prefix, std::string_view version,
                         std::string_view commit) {
  registry
      .gauge(std::string(prefix) + "_build_info",
             "A metric with a constant '1' value labelled by the version and the commit it was built from.",
             {"version", "commit"})
      .with({std::string(version), std::string(commit)})
      .set(1);
}

}  // namespace wo::metrics
