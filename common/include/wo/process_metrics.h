// The standard process metrics every Prometheus client library exports (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds), read from /proc at every scrape, and a <program>_build_info gauge.
#pragma once

#include <string_view>

#include "wo/metrics.h"

namespace wo::metrics {

// Registers the process_* families; their values are read from /proc/self when the registry renders.
// On a system without /proc they stay 0 (nothing throws at scrape time).
void register_process_metrics(Registry& registry);

// <prefix>_build_info{version, commit} 1: which release runs, for dashboards and alerts across a fleet.
void register_build_info(Registry& registry, std::string_view prefix, std::string_view version,
                         std::string_view commit);

}  // namespace wo::metrics
