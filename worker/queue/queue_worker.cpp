#include "queue/queue_worker.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/backoff.h"
#include "queue/schema.h"
#include "wo/cli.h"
#include "wo/log.h"

namespace wo::queue {

using Clock = std::chrono::steady_clock;
using wo::worker::CancelReason;
using wo::worker::CancelToken;

struct QueueWorker::Metrics {
  Metrics(metrics::Registry& r, const std::string& queue)
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
        depth(r.gauge("worker_queue_depth", "Waiting records (queued or errored), sampled periodically, capped",
                      {"queue"})
                  .with({queue})),
        in_flight(r.gauge("worker_queue_in_flight", "Records this process holds", {"queue"}).with({queue})),
        connected(r.gauge("worker_queue_database_connected", "1 while the dispatcher has a connection", {"queue"})
                      .with({queue})) {}
  metrics::Counter &processed, &failed, &retried, &canceled, &released, &lost, &db_errors;
  metrics::Histogram &duration, &wait;
  metrics::Gauge &depth, &in_flight, &connected;
};

namespace {

// Bounds every lock wait of the dispatcher's statements (see dispatcher_db in run()).
constexpr std::chrono::milliseconds kLockTimeout{5000};
// How soon a heartbeat or an outcome skipped for a row lock is tried again (at most heartbeat_interval).
constexpr std::chrono::milliseconds kLockedRetry{500};

// One run of a record: run is a serial number per claim in this process, so that the end of a run only
// ever ends its own in-memory entry, never that of a later claim of the same record.
struct Work {
  Record record;
  CancelToken token;
  uint64_t run = 0;
};

struct Done {
  int64_t id;
  std::string attempt_token;
  uint64_t run;
  Outcome outcome;
  std::string message;
  double seconds;
  bool lost;  // cancelled because the record is no longer ours: nothing to write
  int failures_before;
};

}  // namespace

struct QueueWorker::Shared {
  std::mutex mu;
  std::condition_variable dispatcher_cv, handlers_cv;
  std::deque<Work> work;
  std::vector<Done> done;
  bool wake = false;
  bool closing = false;
  int busy = 0;
  Handler handler;
  QueueOptions options;

  void notify_wake() {
    {
      std::lock_guard lock(mu);
      wake = true;
    }
    dispatcher_cv.notify_one();
  }
};

namespace {

Done run_handler(QueueWorker::Shared& s, const Work& w) {
  auto started = Clock::now();
  Outcome outcome = Outcome::completed;
  std::string message;
  try {
    s.handler(w.record, w.token);
  } catch (const PermanentError& e) {
    outcome = Outcome::failed;
    message = e.what();
  } catch (const std::exception& e) {
    outcome = Outcome::errored;
    message = e.what();
  } catch (...) {
    outcome = Outcome::errored;
    message = "handler threw a non-standard exception";
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  // A handler that returned normally did its work (handlers throw when they stop early on their token):
  // a cancellation that reached the token meanwhile, e.g. a request seen by the heartbeat just as the
  // handler returned, or shutdown, must not turn the success into canceled or a rerun. A failed run ends
  // by its cancel reason. A lost record is never written: it is no longer ours.
  const CancelReason reason = w.token.reason();
  bool lost = reason == CancelReason::lost;
  switch (outcome == Outcome::completed ? CancelReason::none : reason) {
    case CancelReason::none:
    case CancelReason::lost:
      break;
    case CancelReason::requested:
      outcome = Outcome::canceled;
      message = "canceled on request";
      break;
    case CancelReason::shutdown:
      outcome = Outcome::released;
      break;
    case CancelReason::timeout:
      outcome = Outcome::errored;
      message = "handler timed out after " + wo::cli::format_duration(s.options.handler_timeout);
      break;
  }
  return Done{w.record.id, w.record.attempt_token, w.run, outcome, std::move(message), seconds,
              lost,        w.record.num_failures};
}

void handler_loop(std::shared_ptr<QueueWorker::Shared> s) {
  for (;;) {
    Work w;
    {
      std::unique_lock lock(s->mu);
      s->handlers_cv.wait(lock, [&] { return !s->work.empty() || s->closing; });
      if (s->work.empty()) return;
      w = std::move(s->work.front());
      s->work.pop_front();
      ++s->busy;
    }
    Done d = run_handler(*s, w);
    {
      std::lock_guard lock(s->mu);
      --s->busy;
      s->done.push_back(std::move(d));
    }
    s->dispatcher_cv.notify_one();
  }
}

// The LISTEN connection: any notification on the channel wakes the dispatcher.
struct WakeReceiver final : pqxx::notification_receiver {
  WakeReceiver(pqxx::connection_base& c, const std::string& channel, QueueWorker::Shared& s)
      : pqxx::notification_receiver(c, channel), shared(s) {}
  void operator()(const std::string&, int) override { shared.notify_wake(); }
  QueueWorker::Shared& shared;
};

void listener_loop(std::shared_ptr<QueueWorker::Shared> s, wo::worker::DatabaseOptions db, std::string channel) {
  wo::worker::ReconnectBackoff backoff;
  auto closing = [&] {
    std::lock_guard lock(s->mu);
    return s->closing;
  };
  db.statement_timeout = std::chrono::milliseconds(0);
  while (!closing()) {
    try {
      auto conn = wo::worker::connect(db);
      WakeReceiver receiver(*conn, channel, *s);
      s->notify_wake();  // notifications sent while we were not listening are lost: look once
      backoff.reset();
      while (!closing()) conn->await_notification(0, 200000);
    } catch (const std::exception& e) {
      auto delay = backoff.next();
      wo::log::debug("LISTEN connection failed; polling meanwhile",
                     {{"channel", channel}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
      for (auto until = Clock::now() + delay; Clock::now() < until && !closing();) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

}  // namespace

QueueWorker::QueueWorker(QueueOptions options, Handler handler, wo::worker::DatabaseOptions database,
                         QueueWorkerIdentity identity, metrics::Registry& registry)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      database_(std::move(database)),
      identity_(std::move(identity)),
      metrics_(std::make_unique<Metrics>(registry, options_.table)) {}

QueueWorker::~QueueWorker() = default;

std::chrono::milliseconds QueueWorker::liveness_timeout() const {
  return std::max(std::chrono::milliseconds(60000),
                  4 * options_.heartbeat_interval + 4 * database_.statement_timeout + 4 * options_.poll_interval);
}

void QueueWorker::run(wo::worker::RoutineContext& ctx) {
  Metrics& m = *metrics_;
  auto s = std::make_shared<Shared>();
  s->handler = handler_;
  s->options = options_;
  ctx.stop().on_request([s] { s->notify_wake(); });

  QueueStore store(QueueTable(options_.table), identity_.worker_id, identity_.hostname);
  std::vector<std::thread> handlers;
  handlers.reserve(static_cast<std::size_t>(options_.concurrency));
  for (int i = 0; i < options_.concurrency; ++i) handlers.emplace_back(handler_loop, s);
  std::thread listener;
  if (options_.notify) listener = std::thread(listener_loop, s, database_, store.table().channel());

  struct InFlight {
    CancelToken token;
    Clock::time_point deadline;
    uint64_t run;
    std::string attempt_token;
    Clock::time_point cancelled_at = Clock::time_point::max();  // first seen cancelled (not at shutdown)
  };
  std::map<int64_t, InFlight> in_flight;
  uint64_t runs = 0;
  // Ends the entry of this run; false when the record's entry is not this run's (then its outcome must
  // not be written: with worker_id and state matching, it would finish another run's claim).
  auto end_run = [&](int64_t id, uint64_t run) {
    auto it = in_flight.find(id);
    if (it == in_flight.end() || it->second.run != run) return false;
    in_flight.erase(it);
    return true;
  };
  // Outcomes whose record another transaction holds row-locked: written once the lock is gone. Until
  // then the record is still held by this process: heartbeated, and never claimed again.
  std::vector<Finish> locked_finishes;
  auto held_attempts = [&] {
    std::vector<Attempt> attempts;
    attempts.reserve(in_flight.size() + locked_finishes.size());
    for (const auto& [id, f] : in_flight) attempts.push_back({id, f.attempt_token});
    for (const auto& f : locked_finishes) attempts.push_back({f.id, f.attempt_token});
    return attempts;
  };
  auto held_ids = [&] {
    std::vector<int64_t> ids;
    ids.reserve(in_flight.size() + locked_finishes.size());
    for (const auto& [id, f] : in_flight) ids.push_back(id);
    for (const auto& f : locked_finishes) ids.push_back(f.id);
    return ids;
  };
  std::vector<Finish> finishes;
  std::unique_ptr<pqxx::connection> conn;
  // Rows are never waited for (heartbeats and outcomes skip locked rows); the lock timeout bounds what is
  // left, e.g. a table lock of a migration, so that the dispatcher never stalls for a statement timeout.
  wo::worker::DatabaseOptions dispatcher_db = database_;
  dispatcher_db.lock_timeout = kLockTimeout;
  // How soon a row-locked record is tried again: well within the heartbeat interval, so that it is
  // heartbeated or finished soon after its lock goes.
  const auto locked_retry = std::min<std::chrono::milliseconds>(options_.heartbeat_interval, kLockedRetry);
  Clock::time_point retry_locked = Clock::time_point::max();
  bool migrated = false;
  wo::worker::ReconnectBackoff backoff;
  auto now = Clock::now();
  Clock::time_point next_poll = now, next_heartbeat = now + options_.heartbeat_interval, next_depth = now,
                    retry_connect = now;
  bool want_claim = true;  // a NOTIFY, or a full claim (more may wait), not yet followed by a claim
  // Completion batching: while other handlers still run, wait up to kBatchDelay for them before writing
  // outcomes and claiming again, so that one statement serves many records (commits are the ceiling).
  constexpr auto kBatchDelay = std::chrono::milliseconds(2);
  Clock::time_point first_pending = Clock::time_point::max();
  bool stopping = false;
  Clock::time_point handlers_deadline = Clock::time_point::max(), final_deadline = Clock::time_point::max();

  auto release_unstarted = [&] {
    std::deque<Work> unstarted;
    {
      std::lock_guard lock(s->mu);
      unstarted.swap(s->work);
    }
    for (auto& w : unstarted) {
      if (end_run(w.record.id, w.run)) {
        finishes.push_back({w.record.id, w.record.attempt_token, Outcome::released, "", {}});
      }
    }
  };
  // Writes the pending outcomes; those of row-locked records wait in locked_finishes. An outcome the
  // database did not take belongs to an attempt that is no longer this one's (reset, and maybe claimed
  // again): it is dropped and counted lost.
  auto write_finishes = [&] {
    auto results = store.finish(*conn, finishes, options_.max_attempts);
    std::set<int64_t> locked, answered;
    for (const auto& r : results) {
      answered.insert(r.id);
      if (r.locked) locked.insert(r.id);
    }
    for (const auto& f : finishes) {
      if (answered.count(f.id)) continue;
      m.lost.inc();
      wo::log::warn("outcome not written: the attempt is no longer this worker's (reset, maybe claimed again)",
                    {{"queue", options_.table},
                     {"id", f.id},
                     {"attempt_token", f.attempt_token},
                     {"outcome", std::string(to_string(f.outcome))}});
    }
    if (!locked.empty()) {
      for (auto& f : finishes) {
        if (locked.count(f.id)) locked_finishes.push_back(std::move(f));
      }
      retry_locked = Clock::now() + locked_retry;
      wo::log::debug("outcomes of row-locked records wait for their lock",
                     {{"queue", options_.table}, {"records", static_cast<int64_t>(locked.size())}});
    }
    finishes.clear();
    return results;
  };
  auto account = [&](const std::vector<FinishResult>& results) {
    for (const auto& r : results) {
      if (r.locked) continue;
      if (r.state == kCompleted)
        m.processed.inc();
      else if (r.state == kFailed)
        m.failed.inc();
      else if (r.state == kErrored)
        m.retried.inc();
      else if (r.state == kCanceled)
        m.canceled.inc();
      else if (r.state == kQueued)
        m.released.inc();
    }
  };
  auto on_db_error = [&](const std::exception& e) {
    m.db_errors.inc();
    m.connected.set(0);
    conn.reset();
    auto delay = backoff.next();
    retry_connect = Clock::now() + delay;
    ctx.set_ready(false, "database: " + std::string(e.what()));
    wo::log::warn("queue database error; reconnecting",
                  {{"queue", options_.table}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
  };
  auto ensure_connected = [&] {
    if (conn || Clock::now() < retry_connect) return;
    try {
      conn = wo::worker::connect(dispatcher_db);
      if (!migrated) {
        migrate(*conn, store.table());
        migrated = true;
      }
      backoff.reset();
      m.connected.set(1);
      ctx.set_ready(true);
      want_claim = true;
    } catch (const std::exception& e) {
      on_db_error(e);
    }
  };

  wo::log::info("queue worker started", {{"queue", options_.table},
                                         {"job", identity_.job},
                                         {"worker_id", identity_.worker_id},
                                         {"concurrency", options_.concurrency}});
  for (;;) {
    ctx.progress();
    now = Clock::now();
    bool woke = false;
    std::vector<Done> done;
    {
      std::lock_guard lock(s->mu);
      woke = std::exchange(s->wake, false);
      done.swap(s->done);
    }
    want_claim = want_claim || woke;
    for (auto& d : done) {
      m.duration.observe(d.seconds);
      if (!end_run(d.id, d.run) || d.lost) {
        m.lost.inc();
        continue;
      }
      std::chrono::milliseconds delay{0};
      if (d.outcome == Outcome::errored) {
        delay = wo::worker::retry_delay(d.failures_before + 1, options_.retry_backoff, options_.retry_backoff_max, 0.2);
      }
      finishes.push_back({d.id, std::move(d.attempt_token), d.outcome, std::move(d.message), delay});
    }
    if (!finishes.empty()) first_pending = std::min(first_pending, now);
    auto free_handlers = [&] { return options_.concurrency - static_cast<int>(in_flight.size()); };
    auto batch_ready = [&] {
      return finishes.empty() || stopping || in_flight.empty() || Clock::now() >= first_pending + kBatchDelay;
    };

    if (!stopping && ctx.stop().requested()) {
      stopping = true;
      auto deadline = ctx.stop().deadline();
      auto total = deadline > now ? deadline - now : Clock::duration::zero();
      auto reserve = std::min<Clock::duration>(std::chrono::seconds(2), total / 4);
      handlers_deadline = deadline - reserve;
      final_deadline = deadline - reserve / 2;
      release_unstarted();
      wo::log::info("queue worker stopping: no more claims; waiting for running handlers",
                    {{"queue", options_.table}, {"running", static_cast<int64_t>(in_flight.size())}});
    }
    if (stopping) {
      if (now >= handlers_deadline) {
        for (auto& [id, f] : in_flight) f.token.cancel(CancelReason::shutdown);
      }
      if ((in_flight.empty() && finishes.empty()) || now >= final_deadline) break;
    }

    // Timeouts need no database: cancelled even while it is down. A run's deadline is spent once it has
    // been cancelled: it must not keep waking this loop while its handler has not returned (it may never).
    for (auto& [id, f] : in_flight) {
      if (now < f.deadline) continue;
      f.deadline = Clock::time_point::max();
      if (f.token.cancel(CancelReason::timeout)) {
        wo::log::warn("handler timed out; cancelling it",
                      {{"queue", options_.table},
                       {"id", id},
                       {"handler_timeout", wo::cli::format_duration(options_.handler_timeout)}});
      }
    }

    ensure_connected();
    if (conn) {
      try {
        // Heartbeats first: a due heartbeat never waits behind this iteration's outcomes.
        if (now >= next_heartbeat) {
          next_heartbeat = now + options_.heartbeat_interval;
          std::map<int64_t, Heartbeat> owned;
          for (const auto& hb : store.heartbeat(*conn, held_attempts())) owned.emplace(hb.id, hb);
          bool any_locked = false;
          for (auto& [id, f] : in_flight) {
            auto it = owned.find(id);
            if (it == owned.end()) {
              if (f.token.cancel(CancelReason::lost)) {
                wo::log::warn("heartbeat lost a record (reset or changed elsewhere); cancelling its handler",
                              {{"queue", options_.table}, {"id", id}});
              }
              continue;
            }
            any_locked = any_locked || it->second.locked;
            if (it->second.cancel_requested) f.token.cancel(CancelReason::requested);
          }
          // An outcome waiting for a row lock whose record is no longer ours: nothing to write.
          std::erase_if(locked_finishes, [&](const Finish& f) {
            auto it = owned.find(f.id);
            if (it == owned.end()) {
              m.lost.inc();
              return true;
            }
            any_locked = any_locked || it->second.locked;
            return false;
          });
          // A row-locked record was not refreshed: try again soon rather than a whole interval later.
          if (any_locked) next_heartbeat = now + locked_retry;
        }
        if (!locked_finishes.empty() && now >= retry_locked) {
          for (auto& f : locked_finishes) finishes.push_back(std::move(f));
          locked_finishes.clear();
          retry_locked = Clock::time_point::max();
          first_pending = std::min(first_pending, now);
        }
        bool flush = batch_ready();
        if (!finishes.empty() && flush) {
          account(write_finishes());
          first_pending = Clock::time_point::max();
        }
        if (now >= next_depth) {
          next_depth = now + options_.depth_sample_interval;
          m.depth.set(static_cast<double>(QueueStore::count_waiting(*conn, store.table(), 100000)));
        }
        int free = free_handlers();
        if (!stopping && free > 0 && flush && (want_claim || now >= next_poll)) {
          auto records = store.claim(*conn, free, held_ids());
          want_claim = static_cast<int>(records.size()) == free;
          next_poll = Clock::now() + options_.poll_interval;
          if (!records.empty()) {
            std::lock_guard lock(s->mu);
            for (auto& r : records) {
              m.wait.observe(r.wait_seconds);
              CancelToken token;
              const uint64_t run = ++runs;
              in_flight[r.id] = {token,
                                 options_.handler_timeout.count() > 0 ? Clock::now() + options_.handler_timeout
                                                                      : Clock::time_point::max(),
                                 run, r.attempt_token};
              s->work.push_back({std::move(r), token, run});
            }
          }
          if (!records.empty()) s->handlers_cv.notify_all();
        }
      } catch (const std::exception& e) {
        on_db_error(e);
      }
    }
    m.in_flight.set(static_cast<double>(in_flight.size()));

    // A handler that ignores its cancellation (timeout, request, lost record) keeps its record and its
    // handler thread for ever while this loop turns happily: liveness fails once it is cancel_grace
    // late, so that Kubernetes restarts the pod; the record is then handed back at shutdown, or reset by
    // the resetter if the pod is killed. Shutdown cancellations do not count: the process exits at its
    // deadline anyway.
    std::string ignoring;
    int ignoring_count = 0;
    auto next_grace_end = Clock::time_point::max();
    for (auto& [id, f] : in_flight) {
      if (f.cancelled_at == Clock::time_point::max()) {
        if (!f.token.cancelled() || f.token.reason() == CancelReason::shutdown) continue;
        f.cancelled_at = now;
      }
      if (now < f.cancelled_at + options_.cancel_grace) {
        next_grace_end = std::min(next_grace_end, f.cancelled_at + options_.cancel_grace);
      } else if (ignoring_count++ == 0) {
        ignoring = "the handler of record " + std::to_string(id) + " of queue " + options_.table +
                   " ignored its cancellation (" + std::string(wo::worker::to_string(f.token.reason())) +
                   ") for more than " + wo::cli::format_duration(options_.cancel_grace);
      }
    }
    if (ignoring_count > 1) ignoring += " (and " + std::to_string(ignoring_count - 1) + " more handlers)";
    if (!ignoring.empty() && ctx.not_live_reason().empty()) {
      wo::log::error("a handler ignores its cancellation; /healthz now fails",
                     {{"queue", options_.table}, {"reason", ignoring}});
    }
    ctx.set_live(ignoring.empty(), ignoring);

    // Sleep until the next thing to do, or until a handler finishes, a NOTIFY arrives or stop is requested.
    // Every term is a time still ahead, or one this loop moves forward when it acts on it: a time in the
    // past that nothing moves would make the wait return at once, and the loop spin.
    auto until = Clock::time_point::max();
    if (conn) {
      until = std::min(next_heartbeat, next_depth);
      if (!stopping && free_handlers() > 0) until = std::min(until, next_poll);
      if (!finishes.empty()) until = std::min(until, first_pending + kBatchDelay);
      if (!locked_finishes.empty()) until = std::min(until, retry_locked);
    } else {
      // Heartbeats, outcomes, claims and samples all wait for the connection: only reconnecting is due
      // (ensure_connected() has just moved retry_connect ahead).
      until = retry_connect;
    }
    if (stopping) {
      if (now < handlers_deadline) until = std::min(until, handlers_deadline);
      until = std::min(until, final_deadline);
    }
    for (const auto& [id, f] : in_flight) until = std::min(until, f.deadline);
    until = std::min(until, next_grace_end);
    bool ready = batch_ready();
    bool immediate = conn && ready && (!finishes.empty() || (want_claim && !stopping && free_handlers() > 0));
    if (!immediate) {
      // Woken by a NOTIFY or stop, or by finished handlers (while batching: once all of them are done).
      const auto held = in_flight.size();
      std::unique_lock lock(s->mu);
      s->dispatcher_cv.wait_until(lock, until,
                                  [&] { return s->wake || (!s->done.empty() && (ready || s->done.size() == held)); });
    }
  }

  // Hand back everything still held: unstarted work and handlers that did not finish in time.
  release_unstarted();
  {
    std::vector<Done> done;
    {
      std::lock_guard lock(s->mu);
      done.swap(s->done);
      s->closing = true;
    }
    for (auto& d : done) {
      if (end_run(d.id, d.run) && !d.lost) {
        finishes.push_back({d.id, std::move(d.attempt_token), d.outcome, std::move(d.message), {}});
      }
    }
  }
  s->handlers_cv.notify_all();
  for (auto& [id, f] : in_flight) {
    f.token.cancel(CancelReason::shutdown);
    finishes.push_back({id, f.attempt_token, Outcome::released, "", {}});
  }
  auto hard_deadline = ctx.stop().deadline();
  for (auto& f : locked_finishes) finishes.push_back(std::move(f));
  locked_finishes.clear();
  while (!finishes.empty()) {
    ensure_connected();
    if (conn) {
      try {
        account(write_finishes());
        if (locked_finishes.empty()) break;
        // Still row-locked: try again until the deadline, then leave them to the resetter.
        for (auto& f : locked_finishes) finishes.push_back(std::move(f));
        locked_finishes.clear();
      } catch (const std::exception& e) {
        on_db_error(e);
      }
    }
    if (Clock::now() >= hard_deadline) {
      wo::log::error("could not hand records back before the shutdown deadline; the resetter will requeue them",
                     {{"queue", options_.table}, {"records", static_cast<int64_t>(finishes.size())}});
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  m.in_flight.set(0);

  // Handler threads: join those that finished; a handler ignoring its token is left behind (detached;
  // it only holds the shared state) so that the process can still exit on time.
  auto join_by = std::max(hard_deadline, Clock::now() + std::chrono::milliseconds(200));
  for (auto& t : handlers) {
    bool idle = false;
    while (Clock::now() < join_by) {
      {
        std::lock_guard lock(s->mu);
        idle = s->busy == 0;
      }
      if (idle) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (idle) {
      t.join();
    } else {
      t.detach();
    }
  }
  if (listener.joinable()) listener.join();
  wo::log::info("queue worker stopped", {{"queue", options_.table}});
}

}  // namespace wo::queue
