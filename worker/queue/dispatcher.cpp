#include "queue/dispatcher.h"

#include "core/backoff.h"
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

void Dispatcher::run(wo::worker::RoutineContext& ctx) {
  QueueMetrics& m = p_.metrics;
  std::unique_ptr<pqxx::connection> conn;
  bool migrated = false;
  wo::worker::ReconnectBackoff backoff;
  auto now = Clock::now();
  Clock::time_point next_poll = now, next_depth = now, retry_connect = now;
  Clock::time_point free_since = now;  // since when a handler has been free (max while none is)
  bool want_claim = true;              // a NOTIFY, or a claim that filled every free handler, not yet followed up
  bool stopping = false;
  Clock::time_point handlers_deadline = Clock::time_point::max(), final_deadline = Clock::time_point::max();

  auto on_db_error = [&](const std::exception& e) {
    m.db_errors.inc();
    m.connected.set(0);
    conn.reset();
    auto delay = backoff.next();
    retry_connect = Clock::now() + delay;
    p_.readiness.set("dispatcher", "database: " + std::string(e.what()));
    wo::log::warn("queue database error; reconnecting",
                  {{"queue", p_.options.table}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
  };
  auto ensure_connected = [&] {
    if (conn || Clock::now() < retry_connect) return;
    try {
      conn = wo::worker::connect(p_.database);
      if (!migrated) {
        migrate(*conn, p_.store.table());
        migrated = true;
      }
      backoff.reset();
      m.connected.set(1);
      p_.readiness.set("dispatcher", "");
      want_claim = true;
    } catch (const std::exception& e) {
      on_db_error(e);
    }
  };

  for (;;) {
    ctx.progress();
    now = Clock::now();
    want_claim = wake_.take() || want_claim;
    const int running = p_.held.running();
    const int free = claimable(p_.options.concurrency, running, static_cast<int>(p_.held.size()));
    if (free <= 0) {
      free_since = Clock::time_point::max();
    } else if (free_since == Clock::time_point::max()) {
      free_since = now;
    }

    if (!stopping && ctx.stop_requested()) {
      stopping = true;
      auto deadline = ctx.stop_deadline();
      auto total = deadline > now ? deadline - now : Clock::duration::zero();
      auto reserve = std::min<Clock::duration>(std::chrono::seconds(2), total / 4);
      handlers_deadline = deadline - reserve;
      final_deadline = deadline - reserve / 2;
      release_unstarted();
      wo::log::info("queue worker stopping: no more claims; waiting for running handlers",
                    {{"queue", p_.options.table}, {"running", static_cast<int64_t>(p_.held.running())}});
    }
    if (stopping) {
      if (now >= handlers_deadline) p_.held.cancel_running(CancelReason::shutdown);
      if (p_.held.running() == 0 || now >= final_deadline) break;
    }

    // Timeouts need no database: cancelled even while it is down.
    for (int64_t id : p_.held.cancel_overdue(now)) {
      wo::log::warn("handler timed out; cancelling it",
                    {{"queue", p_.options.table},
                     {"id", id},
                     {"handler_timeout", wo::cli::format_duration(p_.options.handler_timeout)}});
    }

    ensure_connected();
    if (conn) {
      try {
        if (now >= next_depth) {
          next_depth = now + p_.options.depth_sample_interval;
          m.depth.set(static_cast<double>(QueueStore::count_waiting(*conn, p_.store.table(), 100000)));
          m.lag.set(QueueStore::lag_seconds(*conn, p_.store.table()));
        }
        if (!stopping && claim_due(free, running, want_claim, free_since, next_poll, now)) {
          auto records = p_.store.claim(*conn, free, p_.held.ids());
          want_claim = static_cast<int>(records.size()) == free;
          next_poll = Clock::now() + p_.options.poll_interval;
          free_since = records.size() == static_cast<std::size_t>(free) ? Clock::time_point::max() : Clock::now();
          std::vector<Work> work;
          work.reserve(records.size());
          for (auto& r : records) {
            m.wait.observe(r.wait_seconds);
            CancelToken token;
            auto deadline = p_.options.handler_timeout.count() > 0 ? Clock::now() + p_.options.handler_timeout
                                                                   : Clock::time_point::max();
            const uint64_t run = p_.held.add(r.id, r.attempt_token, token, deadline);
            work.push_back({std::move(r), token, run});
          }
          if (!work.empty()) pool_.submit(std::move(work));
        }
      } catch (const std::exception& e) {
        on_db_error(e);
      }
    }
    m.in_flight.set(static_cast<double>(p_.held.size()));

    // A handler that ignores its cancellation (timeout, request, lost record) keeps its record and its
    // handler thread for ever while this loop turns happily: liveness fails once it is cancel_grace
    // late, so that Kubernetes restarts the pod; the record is then handed back at shutdown, or reset by
    // the resetter if the pod is killed. Shutdown cancellations do not count: the process exits at its
    // deadline anyway.
    auto ignoring = p_.held.ignoring_cancellation(now, p_.options.cancel_grace, p_.options.table);
    if (!ignoring.reason.empty() && ctx.not_live_reason().empty()) {
      wo::log::error("a handler ignores its cancellation; /healthz now fails",
                     {{"queue", p_.options.table}, {"reason", ignoring.reason}});
    }
    ctx.set_live(ignoring.reason.empty(), ignoring.reason);

    // Sleep until the next thing to do, or until a handler returns, a NOTIFY arrives or stop is requested.
    // Every term is a time still ahead, or one this loop moves forward when it acts on it: a time in the
    // past that nothing moves would make the wait return at once, and the loop spin.
    // At least once per heartbeat_interval, to tick liveness (ctx.progress()): with every handler busy
    // on long records and a long depth_sample_interval nothing else may be due for longer than the
    // liveness timeout.
    auto until = std::min({p_.held.next_deadline(), ignoring.next_check, now + p_.options.heartbeat_interval});
    const int free_now = claimable(p_.options.concurrency, p_.held.running(), static_cast<int>(p_.held.size()));
    if (conn) {
      until = std::min(until, next_depth);
      if (!stopping && free_now > 0) {
        until = std::min(until, next_poll);
        if (want_claim) until = std::min(until, std::max(free_since + kBatchDelay, now));
      }
    } else {
      // Claims and samples wait for the connection: only reconnecting is due (ensure_connected() has just
      // moved retry_connect ahead).
      until = std::min(until, retry_connect);
    }
    if (stopping) {
      if (now < handlers_deadline) until = std::min(until, handlers_deadline);
      until = std::min(until, final_deadline);
    }
    if (wake_.wait_until(until)) want_claim = true;
  }

  // Hand back everything still held: unstarted work, and handlers that did not finish in time (their
  // late return is ignored).
  release_unstarted();
  p_.held.cancel_running(CancelReason::shutdown);
  for (const auto& a : p_.held.abandon_running()) completer_.push({a.id, a.attempt_token, Outcome::released, "", {}});
  m.in_flight.set(0);
}

}  // namespace wo::queue
