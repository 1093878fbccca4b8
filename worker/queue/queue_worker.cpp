#include "queue/queue_worker.h"

#include <atomic>

#include "core/backoff.h"
#include "queue/completer.h"
#include "queue/dispatcher.h"
#include "queue/heartbeater.h"
#include "queue/held_attempts.h"
#include "queue/listener.h"
#include "queue/readiness.h"
#include "queue/wake_signal.h"
#include "wo/log.h"

namespace wo::queue {

using Clock = std::chrono::steady_clock;

namespace {

// What a handler thread touches when its handler returns. A handler that ignores its token may return
// after the queue worker has handed its record back and stopped its parts; closed tells it to leave
// everything alone.
struct Core {
  Core(const QueueOptions& o, QueueMetrics& m) : options(o), metrics(m) {}
  QueueOptions options;
  QueueMetrics& metrics;
  HeldAttempts held;
  WakeSignal wake;
  std::unique_ptr<Completer> completer;
  std::atomic<bool> closed{false};
};

// A handler returned: its slot is free as soon as its outcome is queued for the completer.
void on_handler_done(Core& core, Work& w, RunEnd end, double seconds) {
  if (core.closed) return;
  core.metrics.duration.observe(seconds);
  const bool holds = core.held.handler_returned(w.record.id, w.run);
  if (!holds || end.lost) {
    // Handed back at shutdown, or no longer ours: nothing to write.
    core.metrics.lost.inc();
    if (holds) core.held.release(w.record.id, w.record.attempt_token);
  } else {
    std::chrono::milliseconds delay{0};
    if (end.outcome == Outcome::errored) {
      delay = wo::worker::retry_delay(w.record.num_failures + 1, core.options.retry_backoff,
                                      core.options.retry_backoff_max, 0.2);
    }
    core.completer->push({w.record.id, w.record.attempt_token, end.outcome, std::move(end.message), delay});
  }
  core.wake.notify();
}

}  // namespace

QueueWorker::QueueWorker(QueueOptions options, Handler handler, wo::worker::DatabaseOptions database,
                         QueueWorkerIdentity identity, metrics::Registry& registry)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      database_(std::move(database)),
      identity_(std::move(identity)),
      metrics_(std::make_unique<QueueMetrics>(registry, options_.table)) {}

QueueWorker::~QueueWorker() = default;

std::chrono::milliseconds QueueWorker::liveness_timeout() const {
  return std::max(std::chrono::milliseconds(60000),
                  4 * options_.heartbeat_interval + 4 * database_.statement_timeout + 4 * options_.poll_interval);
}

void QueueWorker::run(wo::worker::RoutineContext& ctx) {
  Core core(options_, *metrics_);
  const std::stop_callback wake_on_stop(ctx.stop_token(), [&core] { core.wake.notify(true); });
  PartsReadiness readiness([&ctx](bool ready, const std::string& reason) { ctx.set_ready(ready, reason); });
  QueueStore store(QueueTable(options_.table), identity_.worker_id, identity_.hostname);

  PartContext part{store, database_, options_, core.held, *metrics_, readiness};
  // Written outcomes free room for claims (see claimable()).
  core.completer = std::make_unique<Completer>(part, [&core] { core.wake.notify(); });
  Heartbeater heartbeater(part);
  HandlerPool pool(options_.concurrency, handler_, options_.handler_timeout,
                   [&core](Work& w, RunEnd end, double seconds) { on_handler_done(core, w, std::move(end), seconds); });
  std::unique_ptr<Listener> listener;
  if (options_.notify) {
    listener = std::make_unique<Listener>(database_, store.table().channel(), [&core] { core.wake.notify(true); });
  }
  Dispatcher dispatcher(part, pool, *core.completer, core.wake);

  wo::log::info("queue worker started", {{"queue", options_.table},
                                         {"job", identity_.job},
                                         {"worker_id", identity_.worker_id},
                                         {"concurrency", options_.concurrency}});
  core.completer->start();
  heartbeater.start();
  if (listener) listener->start();
  dispatcher.run(ctx);

  // Everything is handed to the completer: write it by the deadline (heartbeating meanwhile), then stop.
  auto hard_deadline = ctx.stop_deadline();
  if (std::size_t left = core.completer->drain_and_stop(hard_deadline); left > 0) {
    wo::log::error("could not hand records back before the shutdown deadline; the resetter will requeue them",
                   {{"queue", options_.table}, {"records", static_cast<int64_t>(left)}});
  }
  heartbeater.stop();
  if (listener) listener->stop();
  core.closed = true;
  if (!pool.close_and_join(std::max(hard_deadline, Clock::now() + std::chrono::milliseconds(200)))) {
    // Nothing is lost by not waiting for it: the dispatcher abandoned its attempt at the deadline and the
    // completer handed the record back above (or, when that write failed, the record stays claimed
    // without heartbeats and the resetter requeues it once stalled_after has passed). Its late return
    // is ignored (core.closed). Its thread is never detached: the pool's destructor below waits for it,
    // so this routine does not return by the deadline and the process ends then (app.cpp), which is
    // what frees the thread.
    wo::log::error(
        "a handler ignores its cancellation past the shutdown deadline; the process ends without it (its "
        "record was handed back, or is left to the resetter as logged above)",
        {{"queue", options_.table}});
    return;
  }
  wo::log::info("queue worker stopped", {{"queue", options_.table}});
}

}  // namespace wo::queue
