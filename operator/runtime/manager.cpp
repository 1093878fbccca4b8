#include "runtime/manager.h"

#include <condition_variable>

#include "wo/health.h"
#include "wo/log.h"

namespace wo::runtime {

namespace {

// What an informer's last list/watch error means for whoever runs the operator. Generic: the resource's
// own controller knows its CRD's name and may say more.
std::string hint(const kube::ListWatchError& e) {
  switch (e.code) {
    case 404:
      return " (is the resource's CustomResourceDefinition installed?)";
    case 403:
      return " (does the operator's service account have list and watch on it? see manifests/rbac.yaml)";
    case 401:
      return " (the API server did not accept the credentials: check the kubeconfig or service-account token)";
    case 0:
      return " (no answer from the API server: is it reachable?)";
    default:
      return "";
  }
}

}  // namespace

std::string sync_failure(const kube::Informer& informer, std::chrono::milliseconds timeout) {
  const auto& o = informer.options();
  std::string out = "informer for " + o.resource.api_version() + " " + o.resource.plural;
  if (!o.namespace_.empty()) out += " in namespace " + o.namespace_;
  out += " did not sync within the cache sync timeout (" + std::to_string(timeout.count()) + " ms)";
  if (const auto e = informer.last_error()) {
    out += ": " + e->text + hint(*e);
  } else {
    out += ": the first list had neither completed nor failed by then";
  }
  return out;
}

Manager::Manager(kube::Client& client, ManagerOptions options) : client_(client), options_(std::move(options)) {
  if (options_.health != nullptr) {
    options_.health->add_readiness("informers-synced", [this] {
      return caches_synced() ? std::string() : std::string("informer caches have not synced yet");
    });
  }
}

Manager::~Manager() {
  stop_controllers();
  stop_informers();
}

kube::Informer& Manager::add_informer(const kube::ReflectorOptions& options, std::vector<std::string> namespaces) {
  informers_.push_back(std::make_unique<kube::Informer>(client_, options, std::move(namespaces)));
  return *informers_.back();
}

Controller& Manager::add_controller(ControllerOptions options, Reconciler& reconciler) {
  if (options.metrics == nullptr) options.metrics = options_.metrics;
  controllers_.push_back(std::make_unique<Controller>(std::move(options), reconciler));
  return *controllers_.back();
}

bool Manager::caches_synced() const {
  for (const auto& i : informers_) {
    if (!i->has_synced()) return false;
  }
  return true;
}

bool Manager::is_leader() const {
  return !options_.leader_election || (elector_ && elector_->is_leader());
}

bool Manager::controllers_have_work() const {
  for (const auto& c : controllers_) {
    if (c->has_work()) return true;
  }
  return false;
}

void Manager::start_controllers() {
  std::lock_guard lock(mu_);
  if (controllers_started_) return;
  controllers_started_ = true;
  for (auto& c : controllers_) c->start();
}

void Manager::cancel_controller_requests() {
  std::lock_guard lock(mu_);
  for (auto& c : controllers_) c->cancel_requests();
}

void Manager::stop_controllers() {
  std::lock_guard lock(mu_);
  for (auto& c : controllers_) c->stop();
}

void Manager::stop_informers() {
  for (auto& i : informers_) i->stop();
}

void Manager::run(std::stop_token stop) {
  for (auto& i : informers_) i->start();
  const auto deadline = std::chrono::steady_clock::now() + options_.cache_sync_timeout;
  for (auto& i : informers_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!i->wait_for_sync(std::max(left, std::chrono::milliseconds(0)), stop)) {
      stop_informers();
      if (stop.stop_requested()) return;
      throw std::runtime_error(sync_failure(*i, options_.cache_sync_timeout));
    }
  }
  wo::log::info("informer caches synced", {{"informers", static_cast<long long>(informers_.size())}});

  if (!options_.leader_election) {
    start_controllers();
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait(lock, stop, [] { return false; });
    stop_controllers();
    stop_informers();
    return;
  }

  LeaderElectionConfig le = *options_.leader_election;
  if (le.metrics == nullptr) le.metrics = options_.metrics;
  auto started = le.on_started_leading;
  le.on_started_leading = [this, started] {
    start_controllers();
    if (started) started();
  };
  // On the elector's thread, as soon as leadership ends (at the renew deadline at the latest): the
  // reconciles' requests in flight are cancelled and later ones refused before this thread even wakes up
  // to stop the controllers. A request the server already received may still complete (there is no
  // fencing), but nothing is sent after the deadline.
  auto stopped = le.on_stopped_leading;
  le.on_stopped_leading = [this, stopped] {
    cancel_controller_requests();
    if (stopped) stopped();
  };
  elector_ = std::make_unique<LeaderElector>(client_, le);

  std::mutex m;
  std::condition_variable_any cv;
  bool elector_done = false;
  std::stop_source elector_stop;
  std::jthread elector_thread([&] {
    elector_->run(elector_stop.get_token());
    std::lock_guard lock(m);
    elector_done = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, stop, [&] { return elector_done; });
  }
  const bool lost = !stop.stop_requested();
  // Controllers stop before the Lease is released, so no reconcile runs after another replica took over.
  stop_controllers();
  elector_stop.request_stop();
  elector_thread.join();
  stop_informers();
  if (lost) throw LeadershipLost("lost leadership of lease " + le.lease_namespace + "/" + le.lease_name);
}

}  // namespace wo::runtime
