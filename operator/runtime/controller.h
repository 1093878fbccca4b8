// A controller: informer events become keys in a WorkQueue; N workers call a Reconciler for each key.
//
// What the Reconciler's outcome does to the key (controller-runtime's semantics):
//   throws TerminalError          -> not requeued, result "error", terminal error counted
//   throws anything else          -> rate-limited requeue (per-key backoff 5 ms..1000 s), result "error"
//   Result{.requeue_after > 0}    -> backoff reset, requeued after that delay, result "requeue_after"
//   Result{.requeue = true}       -> rate-limited requeue, result "requeue"
//   Result{}                      -> backoff reset, result "success"
// A key is never reconciled by two workers at once; events for a key being reconciled collapse into
// one more reconcile afterwards.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kube/informer.h"
#include "runtime/work_queue.h"
#include "wo/metrics.h"

namespace wo::runtime {

struct Request {
  std::string namespace_;
  std::string name;
  std::string key() const { return namespace_.empty() ? name : namespace_ + "/" + name; }
  static Request from_key(const std::string& key);
};

struct Result {
  std::chrono::milliseconds requeue_after{0};
  bool requeue = false;
};

// An error retrying cannot fix (bad spec): logged and counted, the key is not requeued.
class TerminalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // stop is requested when the controller shuts down (or leadership is lost): long reconciles should return.
  virtual Result reconcile(const Request& request, std::stop_token stop) = 0;
};

struct ControllerOptions {
  std::string name;  // metrics label and log field
  int max_concurrent_reconciles = 1;
  std::unique_ptr<RateLimiter> rate_limiter;  // null: default_controller_rate_limiter()
  metrics::Registry* metrics = nullptr;
};

// Maps an object from a watched informer to the keys to reconcile.
using MapFunc = std::function<std::vector<Request>(const web::json::value&)>;

class Controller {
 public:
  Controller(ControllerOptions options, Reconciler& reconciler);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  const std::string& name() const { return options_.name; }
  WorkQueue& queue() { return queue_; }

  // Configure before the informers start.
  // The primary resource: every add/update/delete enqueues the object's own key.
  void watch_for(kube::Informer& informer);
  // Dependents: enqueues the owner named by the object's controller ownerReference of owner_kind
  // (same namespace: cross-namespace owners are not allowed).
  void watch_owned(kube::Informer& informer, const std::string& owner_api_group, const std::string& owner_kind);
  // Anything else: enqueues what map returns.
  void watch_mapped(kube::Informer& informer, MapFunc map);

  void start();  // starts the workers
  // Cancels the API requests of the reconciles: those in flight fail at once (their connections are
  // closed) and later ones are refused before they are sent, on the workers' threads only (other users of
  // the client are not affected). Does not wait; stop() does the rest. Safe from any thread.
  void cancel_requests();
  // Cancels the reconciles' requests, stops taking new keys, lets in-flight reconciles return (they see
  // stop requested), joins the workers.
  void stop();
  bool running() const { return !workers_.empty(); }
  // Keys waiting or being reconciled; delayed keys (requeue after, backoff) do not count until they are due.
  bool has_work() const { return queue_.len() + queue_.processing() > 0; }

 private:
  void worker(std::stop_token stop);
  void process(const std::string& key, std::stop_token stop);

  ControllerOptions options_;
  Reconciler& reconciler_;
  WorkQueue queue_;
  std::vector<std::jthread> workers_;
  // Every request a reconcile makes carries its token (kube::RequestScope on the worker threads).
  pplx::cancellation_token_source requests_;
  metrics::Family<metrics::Counter>* reconciles_ = nullptr;
  metrics::Counter* errors_ = nullptr;
  metrics::Counter* terminal_errors_ = nullptr;
  metrics::Histogram* duration_ = nullptr;
  metrics::Gauge* active_ = nullptr;
};

}  // namespace wo::runtime
