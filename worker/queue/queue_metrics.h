// The metrics of one queue worker (docs/worker.md, "Metrics"), shared by its parts.
#pragma once

#include <array>
#include <string>

#include "queue/admin.h"
#include "wo/metrics.h"

namespace wo::queue {

struct QueueMetrics {
  QueueMetrics(metrics::Registry& registry, const std::string& queue);
  metrics::Counter &processed, &failed, &retried, &canceled, &released, &lost, &db_errors;
  metrics::Histogram &duration, &wait;
  metrics::Gauge &depth, &lag, &in_flight, &connected;
  // worker_queue_records{queue, state}, in kStates' order: state_counts, sampled with the depth.
  std::array<metrics::Gauge*, kStates.size()> records{};
};

}  // namespace wo::queue
