// The queue worker routine: claims records of one queue table and runs a handler for each.
//
// One dispatcher thread owns one connection and makes every state change of the queue: it claims as
// many records as there are free handlers in one statement, batches completions, heartbeats all held
// records in one statement per interval, cancels handlers of records it no longer owns or whose
// cancellation was requested, and reconnects with backoff (readiness false meanwhile). Handler threads
// never touch the queue's rows, and no transaction is open while a handler runs. A dedicated LISTEN
// connection turns NOTIFYs into immediate claims; polling is the fallback.
//
// Shutdown: stop claiming, let handlers finish until shortly before the deadline, then cancel them and
// hand what is left back to the queue (queued, no attempt spent).
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/cancel.h"
#include "core/database.h"
#include "core/routine.h"
#include "queue/options.h"
#include "queue/store.h"
#include "wo/metrics.h"

namespace wo::queue {

// A handler processes one record. Returning normally completes it, even if its token was cancelled
// meanwhile (the work is done); throwing marks it errored (retried with backoff up to max_attempts);
// throwing PermanentError fails it at once. Handlers should check or wait on the token and throw
// (token.throw_if_cancelled()) when it is cancelled: a run that throws after a cancellation ends by the
// cancellation's reason (canceled, handed back at shutdown, or errored on timeout).
using Handler = std::function<void(const Record&, const wo::worker::CancelToken&)>;

struct PermanentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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

  struct Shared;  // state shared with handler and listener threads (outlives this object if they hang)

 private:
  struct Metrics;
  QueueOptions options_;
  Handler handler_;
  wo::worker::DatabaseOptions database_;
  QueueWorkerIdentity identity_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace wo::queue
