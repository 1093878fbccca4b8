#include "runtime/controller.h"

#include "kube/object.h"
#include "wo/log.h"
#include "wo/metrics.h"

namespace wo::runtime {

using web::json::value;

Request Request::from_key(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

namespace {

WorkQueueOptions queue_options(ControllerOptions& o) {
  WorkQueueOptions q;
  q.name = o.name;
  q.rate_limiter = std::move(o.rate_limiter);
  q.metrics = o.metrics;
  return q;
}

}  // namespace

Controller::Controller(ControllerOptions options, Reconciler& reconciler)
    : options_(std::move(options)), reconciler_(reconciler), queue_(queue_options(options_)) {
  if (options_.max_concurrent_reconciles < 1) options_.max_concurrent_reconciles = 1;
  if (auto* r = options_.metrics) {
    const std::vector<std::string> c{options_.name};
    reconciles_ = &r->counter("controller_runtime_reconcile_total", "Reconciles by controller and result.",
                              {"controller", "result"});
    errors_ =
        &r->counter("controller_runtime_reconcile_errors_total", "Reconciles that failed.", {"controller"}).with(c);
    terminal_errors_ = &r->counter("controller_runtime_terminal_reconcile_errors_total",
                                   "Reconciles that failed with a terminal error (not retried).", {"controller"})
                            .with(c);
    duration_ =
        &r->histogram("controller_runtime_reconcile_time_seconds", "Time per reconcile.", {"controller"}).with(c);
    active_ = &r->gauge("controller_runtime_active_workers", "Workers currently reconciling.", {"controller"}).with(c);
    r->gauge("controller_runtime_max_concurrent_reconciles", "Configured workers.", {"controller"})
        .with(c)
        .set(options_.max_concurrent_reconciles);
  }
}

Controller::~Controller() {
  stop();
}

void Controller::watch_for(kube::Informer& informer) {
  auto enqueue = [this](const kube::ObjectPtr& o) { queue_.add(kube::object_key(*o)); };
  informer.add_handlers(
      {enqueue, [enqueue](const kube::ObjectPtr&, const kube::ObjectPtr& o) { enqueue(o); }, enqueue});
}

void Controller::watch_owned(kube::Informer& informer, const std::string& owner_group, const std::string& owner_kind) {
  watch_mapped(informer, [owner_group, owner_kind](const value& o) {
    std::vector<Request> out;
    const auto owner = kube::controller_of(o);
    if (owner && owner->kind == owner_kind && kube::group_of(owner->api_version) == owner_group) {
      out.push_back({kube::meta_string(o, "namespace"), owner->name});
    }
    return out;
  });
}

void Controller::watch_mapped(kube::Informer& informer, MapFunc map) {
  auto enqueue = [this, map = std::move(map)](const kube::ObjectPtr& o) {
    for (const auto& r : map(*o)) queue_.add(r.key());
  };
  // On update both states count: an object that stopped belonging to an owner must wake the old one too.
  informer.add_handlers({enqueue,
                         [enqueue](const kube::ObjectPtr& old_object, const kube::ObjectPtr& o) {
                           enqueue(old_object);
                           enqueue(o);
                         },
                         enqueue});
}

void Controller::start() {
  if (!workers_.empty()) return;
  requests_ = pplx::cancellation_token_source();  // a controller stopped before may start again
  wo::log::info("starting controller",
                {{"controller", options_.name}, {"workers", options_.max_concurrent_reconciles}});
  for (int i = 0; i < options_.max_concurrent_reconciles; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { worker(stop); });
  }
}

void Controller::cancel_requests() {
  requests_.cancel();
}

void Controller::stop() {
  if (workers_.empty()) {
    queue_.shut_down();
    return;
  }
  // First, so that a reconcile blocked in a request returns now, and one that goes on after its failed
  // request (to write an error status, say) cannot reach the API server any more.
  cancel_requests();
  for (auto& w : workers_) w.request_stop();
  queue_.shut_down();  // workers finish their current key, then get() returns nullopt
  workers_.clear();    // joins
  wo::log::info("stopped controller", {{"controller", options_.name}});
}

void Controller::worker(std::stop_token stop) {
  const kube::RequestScope cancelled_on_stop({.deadline = std::nullopt, .cancel = requests_.get_token()});
  while (!stop.stop_requested()) {
    auto key = queue_.get();
    if (!key) return;
    if (stop.stop_requested()) {
      queue_.done(*key);
      return;
    }
    process(*key, stop);
    queue_.done(*key);
  }
}

void Controller::process(const std::string& key, std::stop_token stop) {
  const auto start = std::chrono::steady_clock::now();
  if (active_ != nullptr) active_->add(1);
  std::string result;
  try {
    const Result r = reconciler_.reconcile(Request::from_key(key), stop);
    if (r.requeue_after.count() > 0) {
      queue_.forget(key);
      queue_.add_after(key, r.requeue_after);
      result = "requeue_after";
    } else if (r.requeue) {
      queue_.add_rate_limited(key);
      result = "requeue";
    } else {
      queue_.forget(key);
      result = "success";
    }
  } catch (const TerminalError& e) {
    queue_.forget(key);
    result = "error";
    if (terminal_errors_ != nullptr) terminal_errors_->inc();
    wo::log::error("reconcile failed permanently", {{"controller", options_.name}, {"key", key}, {"error", e.what()}});
  } catch (const std::exception& e) {
    queue_.add_rate_limited(key);
    result = "error";
    wo::log::warn(
        "reconcile failed; retrying with backoff",
        {{"controller", options_.name}, {"key", key}, {"error", e.what()}, {"retries", queue_.num_requeues(key)}});
  } catch (...) {
    queue_.add_rate_limited(key);
    result = "error";
    wo::log::error("reconcile threw a non-exception; retrying", {{"controller", options_.name}, {"key", key}});
  }
  if (active_ != nullptr) active_->add(-1);
  if (reconciles_ != nullptr) {
    reconciles_->with({options_.name, result}).inc();
    if (result == "error") errors_->inc();
    duration_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

}  // namespace wo::runtime
