#include "queue/dispatcher.h"

#include "core/backoff.h"
#include "queue/admin.h"
#include "queue/schema.h"
#include "wo/cli.h"
#include "wo/log.h"

namespace wo::queue {

using Clock = std::chrono::steady_clock;
using wo::worker::CancelReason;
using wo::worker::CancelToken;

int claimable(int concurrency, int running, int held) {
  return std::max(0, std::min(concurrency - running, 2 * concurrency - held));
}

bool claim_due(int free, int running, bool want_claim, Clock::time_point free_since, Clock::time_point next_poll,
               Clock::time_point now) {
  if (free <= 0 || (!want_claim && now < next_poll)) return false;
  return running == 0 || now >= free_since + kBatchDelay;
}

Dispatcher::Dispatcher(PartContext part, HandlerPool& pool, Completer& completer, WakeSignal& wake)
    : p_(std::move(part)), pool_(pool), completer_(completer), wake_(wake) {
  p_.database.lock_timeout = kQueueLockTimeout;
}

void Dispatcher::release_unstarted() {
  for (auto& w : pool_.take_unstarted()) {
    if (p_.held.handler_returned(w.record.id, w.run)) {
      completer_.push({w.record.id, w.record.attempt_token, Outcome::released, "", {}});
    }
  }
}

// What the loop carries from one turn to the next.
struct Dispatcher::Loop {
  std::unique_ptr<pqxx::connection> conn;
  bool migrated = false;
  wo::worker::ReconnectBackoff backoff;
  Clock::time_point next_poll, next_depth, retry_connect;
  Clock::time_point free_since;  // since when a handler has been free (max while none is)
  bool want_claim = true;        // a NOTIFY, or a claim that filled every free handler, not yet followed up
  bool stopping = false;
  Clock::time_point handlers_deadline = Clock::time_point::max(), final_deadline = Clock::time_point::max();
};

void Dispatcher::run(wo::worker::RoutineContext& ctx) {
  Loop loop;
  const auto start = Clock::now();
  loop.next_poll = loop.next_depth = loop.retry_connect = loop.free_since = start;
  for (;;) {
    ctx.progress();
    const auto now = Clock::now();
    loop.want_claim = wake_.take() || loop.want_claim;
    const int running = p_.held.running();
    const int free = claimable(p_.options.concurrency, running, static_cast<int>(p_.held.size()));
    if (free <= 0) {
      loop.free_since = Clock::time_point::max();
    } else if (loop.free_since == Clock::time_point::max()) {
      loop.free_since = now;
    }
    if (!loop.stopping && ctx.stop_requested()) begin_stopping(loop, ctx.stop_deadline(), now);
    if (loop.stopping) {
      if (now >= loop.handlers_deadline) p_.held.cancel_running(CancelReason::shutdown);
      if (p_.held.running() == 0 || now >= loop.final_deadline) break;
    }
    // Timeouts need no database: cancelled even while it is down.
    for (int64_t id : p_.held.cancel_overdue(now)) {
      wo::log::warn("handler timed out; cancelling it",
                    {{"queue", p_.options.table},
                     {"id", id},
                     {"handler_timeout", wo::cli::format_duration(p_.options.handler_timeout)}});
    }
    ensure_connected(loop);
    if (loop.conn) sample_and_claim(loop, free, running, now);
    p_.metrics.in_flight.set(static_cast<double>(p_.held.size()));
    const Clock::time_point next_liveness_check = check_liveness(ctx, now);
    if (wake_.wait_until(next_wake(loop, now, next_liveness_check))) loop.want_claim = true;
  }
  // Hand back everything still held: unstarted work, and handlers that did not finish in time (their
  // late return is ignored).
  release_unstarted();
  p_.held.cancel_running(CancelReason::shutdown);
  for (const auto& a : p_.held.abandon_running()) completer_.push({a.id, a.attempt_token, Outcome::released, "", {}});
  p_.metrics.in_flight.set(0);
}

void Dispatcher::on_db_error(Loop& loop, const std::exception& e) {
  p_.metrics.db_errors.inc();
  p_.metrics.connected.set(0);
  loop.conn.reset();
  auto delay = loop.backoff.next();
  loop.retry_connect = Clock::now() + delay;
  p_.readiness.set("dispatcher", "database: " + std::string(e.what()));
  wo::log::warn("queue database error; reconnecting",
                {{"queue", p_.options.table}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
}

void Dispatcher::ensure_connected(Loop& loop) {
  if (loop.conn || Clock::now() < loop.retry_connect) return;
  try {
    loop.conn = wo::worker::connect(p_.database);
    if (!loop.migrated) {
      migrate(*loop.conn, p_.store.table());
      loop.migrated = true;
    }
    loop.backoff.reset();
    p_.metrics.connected.set(1);
    p_.readiness.set("dispatcher", "");
    loop.want_claim = true;
  } catch (const std::exception& e) {
    on_db_error(loop, e);
  }
}

// Stop claiming; running handlers may finish until shortly before the deadline (a reserve of up to 2 s,
// a quarter of what is left, for handing back), then they are cancelled.
void Dispatcher::begin_stopping(Loop& loop, Clock::time_point deadline, Clock::time_point now) {
  loop.stopping = true;
  auto total = deadline > now ? deadline - now : Clock::duration::zero();
  auto reserve = std::min<Clock::duration>(std::chrono::seconds(2), total / 4);
  loop.handlers_deadline = deadline - reserve;
  loop.final_deadline = deadline - reserve / 2;
  release_unstarted();
  wo::log::info("queue worker stopping: no more claims; waiting for running handlers",
                {{"queue", p_.options.table}, {"running", static_cast<int64_t>(p_.held.running())}});
}

namespace {

// The records by state and the depth (the waiting ones), from one bounded statement (state_counts).
void sample_counts(QueueMetrics& m, pqxx::connection& conn, const QueueTable& table) {
  const StateCounts counts = state_counts(conn, table);
  int64_t waiting = 0;
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    m.records[i]->set(static_cast<double>(counts.count[i]));
    if (kStates[i] == std::string_view(kQueued) || kStates[i] == std::string_view(kErrored)) waiting += counts.count[i];
  }
  // Capped as before: the waiting group is read up to kStateCountCap + 1 records.
  m.depth.set(static_cast<double>(std::min(waiting, kStateCountCap)));
}

}  // namespace

// Samples the depth and the lag when due, and claims records for the free handlers when a claim is due.
void Dispatcher::sample_and_claim(Loop& loop, int free, int running, Clock::time_point now) {
  QueueMetrics& m = p_.metrics;
  try {
    if (now >= loop.next_depth) {
      loop.next_depth = now + p_.options.depth_sample_interval;
      sample_counts(m, *loop.conn, p_.store.table());
      m.lag.set(QueueStore::lag_seconds(*loop.conn, p_.store.table()));
    }
    if (loop.stopping || !claim_due(free, running, loop.want_claim, loop.free_since, loop.next_poll, now)) return;
    auto records = p_.store.claim(*loop.conn, free, p_.held.ids());
    loop.want_claim = static_cast<int>(records.size()) == free;
    loop.next_poll = Clock::now() + p_.options.poll_interval;
    loop.free_since = records.size() == static_cast<std::size_t>(free) ? Clock::time_point::max() : Clock::now();
    std::vector<Work> work;
    work.reserve(records.size());
    for (auto& r : records) {
      m.wait.observe(r.wait_seconds);
      CancelToken token;
      auto deadline =
          p_.options.handler_timeout.count() > 0 ? Clock::now() + p_.options.handler_timeout : Clock::time_point::max();
      const uint64_t run = p_.held.add(r.id, r.attempt_token, token, deadline);
      work.push_back({std::move(r), token, run});
    }
    if (!work.empty()) pool_.submit(std::move(work));
  } catch (const std::exception& e) {
    on_db_error(loop, e);
  }
}

// A handler that ignores its cancellation (timeout, request, lost record) keeps its record and its
// handler thread for ever while the loop turns happily: liveness fails once it is cancel_grace late, so
// that Kubernetes restarts the pod; the record is then handed back at shutdown, or reset by the resetter
// if the pod is killed. Shutdown cancellations do not count: the process exits at its deadline anyway.
// Returns when to check again.
Clock::time_point Dispatcher::check_liveness(wo::worker::RoutineContext& ctx, Clock::time_point now) {
  auto ignoring = p_.held.ignoring_cancellation(now, p_.options.cancel_grace, p_.options.table);
  if (!ignoring.reason.empty() && ctx.not_live_reason().empty()) {
    wo::log::error("a handler ignores its cancellation; /healthz now fails",
                   {{"queue", p_.options.table}, {"reason", ignoring.reason}});
  }
  ctx.set_live(ignoring.reason.empty(), ignoring.reason);
  return ignoring.next_check;
}

// Until the next thing to do; the wait also ends when a handler returns, a NOTIFY arrives or stop is
// requested. Every term is a time still ahead, or one the loop moves forward when it acts on it: a time
// in the past that nothing moves would make the wait return at once, and the loop spin. At least once
// per heartbeat_interval, to tick liveness (ctx.progress()): with every handler busy on long records and
// a long depth_sample_interval nothing else may be due for longer than the liveness timeout.
Clock::time_point Dispatcher::next_wake(const Loop& loop, Clock::time_point now,
                                        Clock::time_point next_liveness_check) const {
  auto until = std::min({p_.held.next_deadline(), next_liveness_check, now + p_.options.heartbeat_interval});
  const int free_now = claimable(p_.options.concurrency, p_.held.running(), static_cast<int>(p_.held.size()));
  if (loop.conn) {
    until = std::min(until, loop.next_depth);
    if (!loop.stopping && free_now > 0) {
      until = std::min(until, loop.next_poll);
      if (loop.want_claim) until = std::min(until, std::max(loop.free_since + kBatchDelay, now));
    }
  } else {
    // Claims and samples wait for the connection: only reconnecting is due (ensure_connected() has just
    // moved retry_connect ahead).
    until = std::min(until, loop.retry_connect);
  }
  if (loop.stopping) {
    if (now < loop.handlers_deadline) until = std::min(until, loop.handlers_deadline);
    until = std::min(until, loop.final_deadline);
  }
  return until;
}

}  // namespace wo::queue
