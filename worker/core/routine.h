// Routines: the long-running loops a job is made of (queue workers, resetters, janitors, periodic tasks).
//
// Each routine runs on its own thread under a RoutineRunner. A routine reports readiness (e.g. "database
// unreachable") and progress (a liveness tick); if its thread ever ends by an exception the routine is
// dead and /healthz fails, so Kubernetes restarts the pod: never a dead routine in a healthy-looking pod.
//
// Stopping: the runner's std::stop_source stops every routine at once, with the shutdown deadline riding
// along (RoutineContext::stop_deadline()). A routine waits on its stop token (sleep_for(), or a
// std::condition_variable_any wait with stop_token()), never polls a flag.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "wo/clock.h"
#include "wo/health.h"
#include "wo/metrics.h"

namespace wo::worker {

// What a running routine can tell the runner.
class RoutineContext {
 public:
  // deadline: the runner's, max() until a stop is requested (set before the stop is requested).
  RoutineContext(std::string name, std::stop_token stop, const std::atomic<wo::Clock::time_point>& deadline,
                 const wo::Clock& clock);

  const std::string& name() const { return name_; }
  // Requested once the routine must wind down (shutdown), by stop_deadline().
  const std::stop_token& stop_token() const { return stop_; }
  bool stop_requested() const { return stop_.stop_requested(); }
  // By when the routine must have returned once a stop is requested; time_point::max() until then.
  wo::Clock::time_point stop_deadline() const { return deadline_.load(); }
  // Where the routine's time comes from (the runner's clock: a fake one in tests).
  const wo::Clock& clock() const { return clock_; }
  // Sleeps up to d on clock(); returns false (early) once a stop is requested.
  bool sleep_for(wo::Clock::duration d) const { return clock_.sleep_for(stop_, d); }
  // Readiness: false with a reason while e.g. the database is unreachable.
  void set_ready(bool ready, std::string reason = "");
  std::string not_ready_reason() const;  // empty when ready
  // Liveness beyond progress: false with a reason while the routine knows it is wedged although its loop
  // still turns (e.g. a handler that ignores its cancellation holds a record for ever). /healthz fails
  // meanwhile, so Kubernetes restarts the pod.
  void set_live(bool live, std::string reason = "");
  std::string not_live_reason() const;  // empty when live
  // Liveness tick: call at least once per loop iteration.
  void progress() { last_progress_.store(clock_.now()); }
  wo::Clock::duration since_progress() const { return clock_.now() - last_progress_.load(); }

 private:
  std::string name_;
  std::stop_token stop_;
  const std::atomic<wo::Clock::time_point>& deadline_;
  const wo::Clock& clock_;
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
  std::string not_live_;
  std::atomic<wo::Clock::time_point> last_progress_;
};

class Routine {
 public:
  virtual ~Routine() = default;
  virtual std::string name() const = 0;
  // Runs until ctx's stop is requested and the routine has wound down (by the stop deadline), then
  // returns. An exception escaping run() means the routine died.
  virtual void run(RoutineContext& ctx) = 0;
  // A loop that has not called progress() for this long is reported stuck by /healthz; 0 disables.
  virtual std::chrono::milliseconds liveness_timeout() const { return std::chrono::milliseconds(0); }
};

class RoutineRunner {
 public:
  RoutineRunner(metrics::Registry& registry, health::Checks& checks, const wo::Clock& clock = wo::steady_clock());
  // Stops with an immediate deadline if still running, and joins every routine's thread: it waits for
  // a routine that never returns, so after stop() returned false end the process instead (app.cpp).
  ~RoutineRunner();
  RoutineRunner(const RoutineRunner&) = delete;
  RoutineRunner& operator=(const RoutineRunner&) = delete;

  void add(std::unique_ptr<Routine> routine);
  void start();
  // Requests a stop that must complete by deadline and joins the routines that returned by deadline +
  // grace (waiting on the clock, not polling). Returns false when some routine did not: its thread
  // still runs, owned by the runner (never detached), and nothing can free it but the end of the
  // process, which the caller must bring about (see ~RoutineRunner); still_running() names them.
  bool stop(wo::Clock::time_point deadline, std::chrono::milliseconds grace = std::chrono::milliseconds(1000));
  // Names and reasons of routines that died (ended by an exception, or returned before a stop).
  std::vector<std::string> failures() const;
  // Names of the started routines whose run() has not returned.
  std::vector<std::string> still_running() const;

 private:
  struct Entry {
    std::unique_ptr<Routine> routine;
    std::unique_ptr<RoutineContext> ctx;
    std::jthread thread;
    std::atomic<bool> done{false};  // run() returned (or threw): the thread ends at once
    mutable std::mutex mu;
    std::string failure;  // non-empty: died
  };
  std::string liveness(const Entry& e) const;
  void run_entry(Entry& e, metrics::Family<metrics::Gauge>& up, metrics::Family<metrics::Counter>& deaths);

  metrics::Registry& registry_;
  health::Checks& checks_;
  const wo::Clock& clock_;
  std::stop_source stop_;                                                      // stops every routine
  std::atomic<wo::Clock::time_point> deadline_{wo::Clock::time_point::max()};  // rides along with stop_
  std::atomic<int> running_{0};
  std::stop_source all_returned_;  // requested when the last running routine returns: ends stop()'s wait
  std::vector<std::shared_ptr<Entry>> entries_;
  bool started_ = false;
};

}  // namespace wo::worker
