#include "core/periodic.h"

#include <random>

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
                            "Periodic runs skipped because another replica held the single-runner lock", {"routine"})
                   .with({options_.name})),
      duration_(registry.histogram("worker_routine_run_duration_seconds", "Duration of periodic runs", {"routine"})
                    .with({options_.name})) {}

std::chrono::milliseconds PeriodicRoutine::liveness_timeout() const {
  // A run is bounded by statement_timeout; allow several intervals before calling the loop stuck.
  auto statement = options_.database ? options_.database->statement_timeout : std::chrono::milliseconds(0);
  return std::max(std::chrono::milliseconds(60000), 3 * options_.interval + 2 * statement);
}

bool PeriodicRoutine::run_once(pqxx::connection* conn) {
  if (options_.single_runner_key.empty() || conn == nullptr) {
    body_(conn);
    return true;
  }
  auto [k1, k2] = advisory_lock_keys(options_.single_runner_key);
  {
    pqxx::nontransaction tx(*conn);
    if (!tx.exec_params1("SELECT pg_try_advisory_lock($1, $2)", k1, k2)[0].as<bool>()) return false;
  }
  try {
    body_(conn);
  } catch (...) {
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
  return true;
}

void PeriodicRoutine::run(RoutineContext& ctx) {
  std::unique_ptr<pqxx::connection> conn;
  ReconnectBackoff backoff;
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(1.0 - options_.jitter, 1.0 + options_.jitter);
  if (!options_.database) ctx.set_ready(true);
  bool run_now = options_.run_at_start;
  while (!ctx.stop().requested()) {
    ctx.progress();
    std::chrono::milliseconds wait(
        static_cast<long long>(static_cast<double>(options_.interval.count()) * jitter(rng)));
    if (!run_now && ctx.stop().wait_for(wait)) break;
    run_now = false;
    ctx.progress();
    try {
      if (options_.database && !conn) {
        conn = connect(*options_.database);
        ctx.set_ready(true);
        backoff.reset();
      }
      auto started = std::chrono::steady_clock::now();
      if (run_once(conn.get())) {
        runs_.inc();
        duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      } else {
        skipped_.inc();
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
        if (ctx.stop().wait_for(std::min(delay, options_.interval))) break;
        run_now = true;
        continue;
      }
      wo::log::error("periodic run failed", {{"routine", options_.name}, {"error", e.what()}});
    }
  }
}

}  // namespace wo::worker
