// A routine that runs a body every interval (with jitter), optionally holding a Postgres connection and,
// when single_runner is set, running only in one replica at a time (a session advisory lock taken with
// pg_try_advisory_lock: rolling updates overlap old and new pods, so "replicas: 1" is not enough).
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
  // Runs the body once; returns false when it was skipped because another replica holds the lock.
  bool run_once(pqxx::connection* conn);

  PeriodicOptions options_;
  Body body_;
  metrics::Counter& runs_;
  metrics::Counter& errors_;
  metrics::Counter& skipped_;
  metrics::Histogram& duration_;
};

// Two 32-bit advisory lock keys derived from a name (FNV-1a), in the "wo" namespace of lock keys.
std::pair<int, int> advisory_lock_keys(const std::string& name);

}  // namespace wo::worker
