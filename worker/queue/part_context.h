// What each part of a queue worker that holds its own database connection (dispatcher, completer,
// heartbeater) works with.
#pragma once

#include "core/database.h"
#include "queue/held_attempts.h"
#include "queue/options.h"
#include "queue/queue_metrics.h"
#include "queue/readiness.h"
#include "queue/store.h"

namespace wo::queue {

struct PartContext {
  QueueStore store;
  wo::worker::DatabaseOptions database;  // each part sets its own lock_timeout
  QueueOptions options;
  HeldAttempts& held;
  QueueMetrics& metrics;
  PartsReadiness& readiness;
};

}  // namespace wo::queue
