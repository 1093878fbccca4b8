#include "queue/queue_metrics.h"

namespace wo::queue {

QueueMetrics::QueueMetrics(metrics::Registry& r, const std::string& queue)
    : processed(r.counter("worker_queue_processed_total", "Records completed", {"queue"}).with({queue})),
      failed(r.counter("worker_queue_failed_total", "Records failed for good (max attempts or max resets)", {"queue"})
                 .with({queue})),
      retried(r.counter("worker_queue_retried_total", "Failed runs scheduled for a retry (errored)", {"queue"})
                  .with({queue})),
      canceled(r.counter("worker_queue_canceled_total", "Records canceled on request", {"queue"}).with({queue})),
      released(r.counter("worker_queue_released_total", "Unfinished records handed back at shutdown", {"queue"})
                   .with({queue})),
      lost(r.counter("worker_queue_lost_total", "Records this worker no longer owned (reset or changed)", {"queue"})
               .with({queue})),
      db_errors(r.counter("worker_queue_database_errors_total", "Failed queue statements and connections", {"queue"})
                    .with({queue})),
      duration(r.histogram("worker_queue_handler_duration_seconds", "Handler run time", {"queue"}).with({queue})),
      wait(r.histogram("worker_queue_wait_seconds", "From due (enqueued or retry time) to claimed", {"queue"})
               .with({queue})),
      depth(
          r.gauge("worker_queue_depth", "Waiting records (queued or errored), sampled periodically, capped", {"queue"})
              .with({queue})),
      lag(r.gauge("worker_queue_lag_seconds",
                  "How long the oldest record that is due now has been due (0: none), sampled with the depth",
                  {"queue"})
              .with({queue})),
      in_flight(r.gauge("worker_queue_in_flight", "Records this process holds", {"queue"}).with({queue})),
      connected(r.gauge("worker_queue_database_connected", "1 while the dispatcher has a connection", {"queue"})
                    .with({queue})) {
  auto& family = r.gauge("worker_queue_records",
                         "Records by state, sampled with the depth; each group of states (waiting, processing, "
                         "finished) counted up to 100000, beyond which the value is a lower bound",
                         {"queue", "state"});
  for (std::size_t i = 0; i < kStates.size(); ++i) records[i] = &family.with({queue, kStates[i]});
}

}  // namespace wo::queue
