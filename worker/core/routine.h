// Routines: the long-running loops a job is made of (queue workers, resetters, janitors, periodic tasks).
//
// Each routine runs on its own thread under a RoutineRunner. A routine reports readiness (e.g. "database
// unreachable") and progress (a liveness tick); if its thread ever ends by an exception the routine is
// dead and /healthz fails, so Kubernetes restarts the pod: never a dead routine in a healthy-looking pod.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/stop.h"
#include "wo/health.h"
#include "wo/metrics.h"

namespace wo::worker {

// What a running routine can tell the runner.
class RoutineContext {
 public:
  RoutineContext(std::string name, const StopState& stop) : name_(std::move(name)), stop_(stop) {}

  const std::string& name() const { return name_; }
  const StopState& stop() const { return stop_; }
  // Readiness: false with a reason while e.g. the database is unreachable.
  void set_ready(bool ready, std::string reason = "");
  std::string not_ready_reason() const;  // empty when ready
  // Liveness beyond progress: false with a reason while the routine knows it is wedged although its loop
  // still turns (e.g. a handler that ignores its cancellation holds a record for ever). /healthz fails
  // meanwhile, so Kubernetes restarts the pod.
  void set_live(bool live, std::string reason = "");
  std::string not_live_reason() const;  // empty when live
  // Liveness tick: call at least once per loop iteration.
  void progress() { last_progress_.store(std::chrono::steady_clock::now().time_since_epoch().count()); }
  std::chrono::steady_clock::duration since_progress() const;

 private:
  std::string name_;
  const StopState& stop_;
  mutable std::mutex mu_;
  bool ready_ = false;
  std::string reason_ = "starting";
  std::string not_live_;
  std::atomic<std::chrono::steady_clock::rep> last_progress_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
};

class Routine {
 public:
  virtual ~Routine() = default;
  virtual std::string name() const = 0;
  // Runs until ctx.stop() is requested and the routine has wound down (by the stop deadline), then
  // returns. An exception escaping run() means the routine died.
  virtual void run(RoutineContext& ctx) = 0;
  // A loop that has not called progress() for this long is reported stuck by /healthz; 0 disables.
  virtual std::chrono::milliseconds liveness_timeout() const { return std::chrono::milliseconds(0); }
};

class RoutineRunner {
 public:
  RoutineRunner(metrics::Registry& registry, health::Checks& checks);
  ~RoutineRunner();  // stops with an immediate deadline if still running

  void add(std::unique_ptr<Routine> routine);
  void start();
  // Requests a stop that must complete by deadline and joins the routines. Returns false when some
  // routine did not return by deadline + grace (its thread is detached; exit the process soon).
  bool stop(std::chrono::steady_clock::time_point deadline,
            std::chrono::milliseconds grace = std::chrono::milliseconds(1000));
  // Names and reasons of routines that died (ended by an exception, or returned before a stop).
  std::vector<std::string> failures() const;
  const StopState& stop_state() const { return stop_; }

 private:
  struct Entry {
    std::unique_ptr<Routine> routine;
    std::unique_ptr<RoutineContext> ctx;
    std::thread thread;
    std::atomic<bool> done{false};
    mutable std::mutex mu;
    std::string failure;  // non-empty: died
  };
  std::string liveness(const Entry& e) const;

  metrics::Registry& registry_;
  health::Checks& checks_;
  StopState stop_;
  std::vector<std::shared_ptr<Entry>> entries_;
  bool started_ = false;
};

}  // namespace wo::worker
