// The metrics of one queue worker (docs/worker.md, "Metrics"), shared by its parts.
#pragma once

#include <string>

#include "wo/metrics.h"

namespace wo::queue {

struct QueueMetrics {
  QueueMetrics(metrics::Registry& registry, const std::string& queue);
  metrics::Counter &processed, &failed, &retried, &canceled, &released, &lost, &db_errors;
  metrics::Histogram &duration, &wait;
  metrics::Gauge &depth, &lag, &in_flight, &connected;
};

}  // namespace wo::queue
