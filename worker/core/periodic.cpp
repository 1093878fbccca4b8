#include "core/periodic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "core/backoff.h"
#include "wo/cli.h"
#include "wo/log.h"

namespace wo::worker {

std::pair<int, int> advisory_lock_keys(const std::string& name) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  // 0x776f = "wo": keeps the framework's locks apart from an application's single-key locks.
  return {0x776f, static_cast<int>(h)};
}

PeriodicRoutine::PeriodicRoutine(PeriodicOptions options, Body body, metrics::Registry& registry)
    : options_(std::move(options)),
      body_(std::move(body)),
      runs_(registry.counter("worker_routine_runs_total", "Completed runs of periodic routines", {"routine"})
                .with({options_.name})),
      errors_(registry.counter("worker_routine_errors_total", "Failed runs of periodic routines", {"routine"})
                  .with({options_.name})),
      skipped_(registry
                   .counter("worker_routine_skipped_total",
                            "Periodic runs skipped because another replica held the single-runner lock or ran within "
                            "the interval",
                            {"routine"})
                   .with({options_.name})),
      duration_(registry.histogram("worker_routine_run_duration_seconds", "Duration of periodic runs", {"routine"})
                    .with({options_.name})) {}

std::chrono::milliseconds PeriodicRoutine::liveness_timeout() const {
  // A run is bounded by statement_timeout; allow several intervals before calling the loop stuck.
  auto statement = options_.database ? options_.database->statement_timeout : std::chrono::milliseconds(0);
  return std::max(std::chrono::milliseconds(60000), 3 * options_.interval + 2 * statement);
}

std::optional<std::chrono::milliseconds> PeriodicRoutine::claim_interval(pqxx::connection& conn) {
  if (!schedule_migrated_) {
    // Created like the queue tables: under a transaction-level advisory lock, so that replicas starting
    // together do not race on the DDL.
    auto [k1, k2] = advisory_lock_keys(std::string("migrate:") + kPeriodicRunsTable);
    pqxx::work tx(conn);
    tx.exec_params("SELECT pg_advisory_xact_lock($1, $2)", k1, k2);
    tx.exec(std::string("CREATE TABLE IF NOT EXISTS ") + kPeriodicRunsTable +
            " (key text PRIMARY KEY, name text NOT NULL, last_run_at timestamptz NOT NULL)");
    tx.commit();
    schedule_migrated_ = true;
  }
  // The run is recorded before the body runs, so a replica that fails or dies mid-run does not make
  // another run it again within the interval: at most once per interval, and a failed run is retried
  // when the next interval is due (as without replicas). The key is a digest, as a script can be long
  // (SHA-256: servers in FIPS mode refuse md5).
  pqxx::nontransaction tx(conn);
  pqxx::row r = tx.exec_params1(
      std::string("WITH prev AS (SELECT last_run_at FROM ") + kPeriodicRunsTable +
          " WHERE key = encode(sha256(convert_to($1, 'UTF8')), 'hex')),"
          " claim AS (INSERT INTO " +
          kPeriodicRunsTable +
          " AS p (key, name, last_run_at) VALUES (encode(sha256(convert_to($1, 'UTF8')), 'hex'), left($1, 200), now())"
          " ON CONFLICT (key) DO UPDATE SET last_run_at = now(), name = EXCLUDED.name"
          " WHERE p.last_run_at <= now() - $2::float8 * interval '1 millisecond' RETURNING 1)"
          " SELECT (SELECT count(*) FROM claim),"
          " coalesce((SELECT extract(epoch FROM last_run_at - now()) * 1000 + $2::float8 FROM prev), 0)::float8",
      options_.single_runner_key, static_cast<double>(options_.interval.count()));
  if (r[0].as<long long>() > 0) return std::nullopt;
  // Wake just after it is due; never longer than an interval (the recorded run may lie in the future
  // after a clock step of the database server).
  double due_in = std::clamp(r[1].as<double>(0.0), 0.0, static_cast<double>(options_.interval.count()));
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(due_in)) + 1);
}

PeriodicRoutine::RunResult PeriodicRoutine::run_once(pqxx::connection* conn) {
  if (options_.single_runner_key.empty() || conn == nullptr) {
    body_(conn);
    return {true};
  }
  auto [k1, k2] = advisory_lock_keys(options_.single_runner_key);
  {
    pqxx::nontransaction tx(*conn);
    if (!tx.exec_params1("SELECT pg_try_advisory_lock($1, $2)", k1, k2)[0].as<bool>()) return {false};
  }
  try {
    if (options_.once_per_interval) {
      if (auto due_in = claim_interval(*conn)) {
        pqxx::nontransaction tx(*conn);
        tx.exec_params("SELECT pg_advisory_unlock($1, $2)", k1, k2);
        return {false, *due_in};
      }
    }
    body_(conn);
  } catch (...) {
    schedule_migrated_ = false;  // e.g. the table was dropped: create it again next time
    try {
      pqxx::nontransaction tx(*conn);
      tx.exec_params("SELECT pg_advisory_unlock($1, $2)", k1, k2);
    } catch (...) {
      // The connection is gone; the server released the session lock with it.
    }
    throw;
  }
  pqxx::nontransaction tx(*conn);
  tx.exec_params("SELECT pg_advisory_unlock($1, $2)", k1, k2);
  return {true};
}

void PeriodicRoutine::run(RoutineContext& ctx) {
  std::unique_ptr<pqxx::connection> conn;
  ReconnectBackoff backoff;
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(1.0 - options_.jitter, 1.0 + options_.jitter);
  if (!options_.database) ctx.set_ready(true);
  bool run_now = options_.run_at_start;
  std::optional<std::chrono::milliseconds> due_in;  // another replica ran it: wait until it is due again
  while (!ctx.stop_requested()) {
    ctx.progress();
    std::chrono::milliseconds wait(
        static_cast<long long>(static_cast<double>(options_.interval.count()) * jitter(rng)));
    if (due_in) wait = *std::exchange(due_in, std::nullopt);
    if (!run_now && !ctx.sleep_for(wait)) break;
    run_now = false;
    ctx.progress();
    try {
      if (options_.database && !conn) {
        conn = connect(*options_.database);
        ctx.set_ready(true);
        backoff.reset();
      }
      auto started = ctx.clock().now();
      RunResult result = run_once(conn.get());
      if (result.ran) {
        runs_.inc();
        duration_.observe(std::chrono::duration<double>(ctx.clock().now() - started).count());
      } else {
        skipped_.inc();
        if (result.due_in.count() > 0) due_in = result.due_in;
      }
    } catch (const std::exception& e) {
      errors_.inc();
      if (is_connection_error(e)) {
        conn.reset();
        ctx.set_ready(false, std::string("database: ") + e.what());
        auto delay = backoff.next();
        wo::log::warn("periodic routine lost its database connection; reconnecting",
                      {{"routine", options_.name}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
        // Retry sooner than the interval: the run did not happen.
        if (!ctx.sleep_for(std::min(delay, options_.interval))) break;
        run_now = true;
        continue;
      }
      wo::log::error("periodic run failed", {{"routine", options_.name}, {"error", e.what()}});
    }
  }
}

}  // namespace wo::worker
