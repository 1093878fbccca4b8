// A routine that runs a body every interval (with jitter), optionally holding a Postgres connection and,
// when single_runner is set, running only in one replica at a time (a session advisory lock taken with
// pg_try_advisory_lock: rolling updates overlap old and new pods, so "replicas: 1" is not enough).
// The lock only keeps runs from overlapping: with once_per_interval as well, the last run is recorded in
// the wo_periodic_runs table, so that all replicas together run the body once per interval.
//
// A failing run is logged and counted (worker_routine_errors_total) and retried at the next interval;
// a lost connection is rebuilt with backoff while /readyz reports it. Runs never kill the routine.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/database.h"
#include "core/routine.h"
#include "wo/metrics.h"

namespace wo::worker {

struct PeriodicOptions {
  std::string name;
  std::chrono::milliseconds interval{60000};
  double jitter = 0.1;  // each wait is interval * [1-jitter, 1+jitter]
  bool run_at_start = true;
  std::optional<DatabaseOptions> database;  // nullopt: the body gets no connection
  std::string single_runner_key;            // non-empty: advisory lock name shared by all replicas
  // With single_runner_key: run only when the last run recorded for the key (by any replica) is at
  // least interval old; a replica that finds it younger waits until it is due.
  bool once_per_interval = false;
};

class PeriodicRoutine : public Routine {
 public:
  // body receives the connection (nullptr without database options). Return normally on success.
  using Body = std::function<void(pqxx::connection*)>;

  PeriodicRoutine(PeriodicOptions options, Body body, metrics::Registry& registry);
  std::string name() const override { return options_.name; }
  void run(RoutineContext& ctx) override;
  std::chrono::milliseconds liveness_timeout() const override;

 private:
  struct RunResult {
    bool ran = false;
    std::chrono::milliseconds due_in{0};  // skipped because not due (once_per_interval): due this much later
  };
  // Runs the body once, unless another replica holds the lock or (once_per_interval) it is not due.
  RunResult run_once(pqxx::connection* conn);
  // Under the lock: records this run when the last one is at least interval old; else returns how long
  // until it is due.
  std::optional<std::chrono::milliseconds> claim_interval(pqxx::connection& conn);
  bool schedule_migrated_ = false;

  PeriodicOptions options_;
  Body body_;
  metrics::Counter& runs_;
  metrics::Counter& errors_;
  metrics::Counter& skipped_;
  metrics::Histogram& duration_;
};

// Two 32-bit advisory lock keys derived from a name (FNV-1a), in the "wo" namespace of lock keys.
std::pair<int, int> advisory_lock_keys(const std::string& name);

// The table where once_per_interval routines record their last run (created by the worker).
inline constexpr const char* kPeriodicRunsTable = "wo_periodic_runs";

}  // namespace wo::worker
