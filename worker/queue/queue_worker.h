// The queue worker routine: claims records of one queue table and runs a handler for each.
//
// Its parts, each on its own thread (docs/worker.md, "The queue worker's parts"):
// - the dispatcher (dispatcher.h, the routine's own thread and connection) claims as many records as
//   there are free handlers in one statement, enforces timeouts and runs the shutdown;
// - the handler pool (handler_pool.h) runs the job's handler on each record, with no transaction open;
//   handler threads never touch the queue's rows;
// - the completer (completer.h, own connection) writes the outcomes in batches;
// - the heartbeater (heartbeater.h, own connection) refreshes every held attempt in one statement per
//   interval and cancels handlers of attempts no longer owned or whose cancellation was requested;
// - the listener (listener.h, own connection) turns NOTIFYs into immediate claims; polling is the
//   fallback.
// They share the held attempts (held_attempts.h). Every connection reconnects with backoff (readiness
// false meanwhile).
//
// Shutdown: stop claiming, let handlers finish until shortly before the deadline, then cancel them and
// hand what is left back to the queue (queued, no attempt spent).
#pragma once

#include <memory>
#include <string>

#include "core/database.h"
#include "core/routine.h"
#include "queue/handler_pool.h"
#include "queue/options.h"
#include "queue/queue_metrics.h"
#include "wo/metrics.h"

namespace wo::queue {

struct QueueWorkerIdentity {
  std::string job;        // metrics label and log field
  std::string worker_id;  // UUID, fresh per process
  std::string hostname;
};

class QueueWorker : public wo::worker::Routine {
 public:
  QueueWorker(QueueOptions options, Handler handler, wo::worker::DatabaseOptions database, QueueWorkerIdentity identity,
              metrics::Registry& registry);
  ~QueueWorker() override;

  std::string name() const override { return "queue-worker:" + options_.table; }
  void run(wo::worker::RoutineContext& ctx) override;
  std::chrono::milliseconds liveness_timeout() const override;

 private:
  QueueOptions options_;
  Handler handler_;
  wo::worker::DatabaseOptions database_;
  QueueWorkerIdentity identity_;
  std::unique_ptr<QueueMetrics> metrics_;
};

}  // namespace wo::queue
