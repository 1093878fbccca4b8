// worker-operator: reconciles WorkerJobs into one Deployment each (see docs/architecture.md).
//
// Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 2 for a usage or configuration error,
// 1 for a runtime failure (including lost leadership, so Kubernetes restarts it as a fresh candidate).

#include <cpprest/json.h>
#include <malloc.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stop_token>

#include "build_info.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "runtime/event_recorder.h"
#include "runtime/manager.h"
#include "wo/cli.h"
#include "wo/health.h"
#include "wo/http_server.h"
#include "wo/log.h"
#include "wo/metrics.h"
#include "wo/process.h"
#include "wo/process_metrics.h"
#include "wo/version.h"
#include "workerjob/cache.h"
#include "workerjob/controller.h"
#include "workerjob/status_metrics.h"

namespace {

constexpr const char* kSummary =
    "worker-operator turns each WorkerJob (worker.dev/v1alpha1) into its own Deployment running\n"
    "`worker --job=<spec.job>` with the job's resource requests and limits, and reports on the\n"
    "WorkerJob's status why its pods fail.";

wo::cli::FlagSet make_flags() {
  wo::cli::FlagSet f("worker-operator", kSummary);
  f.add_string("kubeconfig", "WORKER_OPERATOR_KUBECONFIG", "",
               "Path to a kubeconfig; empty: in-cluster service account, else $KUBECONFIG, else ~/.kube/config");
  f.add_repeated("namespaces", "WORKER_OPERATOR_NAMESPACES",
                 "Only watch these namespaces (comma-separated or repeated; RBAC: a Role in each suffices); "
                 "none: all namespaces");
  f.add_string("worker-image", "WORKER_OPERATOR_WORKER_IMAGE", wo::image_of("worker"),
               "Image for WorkerJobs that set no spec.image");
  f.add_string("metrics-addr", "WORKER_OPERATOR_METRICS_ADDR", ":8080", "Address for Prometheus /metrics");
  f.add_string("health-addr", "WORKER_OPERATOR_HEALTH_ADDR", ":8081", "Address for /healthz and /readyz");
  f.add_bool("leader-elect", "WORKER_OPERATOR_LEADER_ELECT", false,
             "Elect a leader with a coordination.k8s.io/v1 Lease; only the leader reconciles");
  f.add_string("leader-election-namespace", "WORKER_OPERATOR_LEADER_ELECTION_NAMESPACE", "",
               "Namespace of the Lease; empty: the pod's namespace in-cluster, else worker-operator-system");
  f.add_string("leader-election-id", "WORKER_OPERATOR_LEADER_ELECTION_ID", "worker-operator", "Name of the Lease");
  f.add_int("max-concurrent-reconciles", "WORKER_OPERATOR_MAX_CONCURRENT_RECONCILES", 4,
            "WorkerJobs reconciled at once (one key is never reconciled twice at once)");
  f.add_int("qps", "WORKER_OPERATOR_QPS", 0,
            "Client-side limit of API requests per second; 0: off, relying on the API server's priority and fairness");
  f.add_int("burst", "WORKER_OPERATOR_BURST", 100, "Burst above --qps");
  f.add_string("log-format", "WORKER_OPERATOR_LOG_FORMAT", "json", "Log format: json or text");
  f.add_string("log-level", "WORKER_OPERATOR_LOG_LEVEL", "info", "Log level: trace, debug, info, warn, error");
  return f;
}

// --namespaces: each value may itself be a comma-separated list; empty entries are a usage error.
std::vector<std::string> watched_namespaces(const wo::cli::FlagSet& flags) {
  std::vector<std::string> out;
  for (const auto& value : flags.get_repeated("namespaces")) {
    std::stringstream items(value);
    for (std::string ns; std::getline(items, ns, ',');) {
      if (ns.empty()) throw wo::cli::UsageError("--namespaces: an empty namespace name in '" + value + "'");
      out.push_back(std::move(ns));
    }
  }
  return out;
}

std::string default_lease_namespace() {
  std::ifstream in("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  std::string ns;
  if (in && std::getline(in, ns) && !ns.empty()) return ns;
  return "worker-operator-system";
}

int fail(int code, const std::string& message) {
  wo::log::error(message);
  wo::process::write_termination_message(message);
  wo::log::shutdown();
  std::cerr << "worker-operator: " << message << "\n";
  return code;
}

wo::kube::ClientOptions client_options(const wo::cli::FlagSet& flags, wo::metrics::Registry& metrics) {
  wo::kube::ClientOptions o;
  o.qps = static_cast<double>(flags.get_int("qps"));
  o.burst = static_cast<int>(flags.get_int("burst"));
  o.metrics = &metrics;
  return o;
}

wo::runtime::ManagerOptions manager_options(const wo::cli::FlagSet& flags, wo::metrics::Registry& metrics,
                                            wo::health::Checks& health) {
  wo::runtime::ManagerOptions o;
  o.metrics = &metrics;
  o.health = &health;
  if (flags.get_bool("leader-elect")) {
    wo::runtime::LeaderElectionConfig le;
    le.lease_namespace = flags.get_string("leader-election-namespace");
    if (le.lease_namespace.empty()) le.lease_namespace = default_lease_namespace();
    le.lease_name = flags.get_string("leader-election-id");
    le.metrics = &metrics;
    o.leader_election = le;
  }
  return o;
}

// The informers the WorkerJob controller reads from (the manager owns them): WorkerJobs; every Deployment
// and ConfigMap of the watched namespaces (others' as stubs: a name taken by someone else is found in the
// cache, without a GET); the ReplicaSets and Pods the operator's Deployments made, by its managed-by label.
struct Informers {
  wo::kube::Informer& workerjobs;
  wo::kube::Informer& deployments;
  wo::kube::Informer& configmaps;
  wo::kube::Informer& replicasets;
  wo::kube::Informer& pods;
};

Informers add_informers(wo::runtime::Manager& manager, const std::vector<std::string>& namespaces) {
  namespace wj = wo::workerjob;
  // Each cache keeps what the controller reads of its kind (workerjob/cache.h).
  auto informer_for = [&](const wo::kube::ResourceRef& resource, std::string_view selector,
                          wo::kube::ObjectTransform transform) -> wo::kube::Informer& {
    wo::kube::ReflectorOptions o;
    o.resource = resource;
    o.label_selector = std::string(selector);
    o.transform = std::move(transform);
    return manager.add_informer(o, namespaces);
  };
  Informers informers{informer_for(wj::workerjobs_resource(), "", wj::workerjob_projection()),
                      informer_for(wj::deployments_resource(), "", wj::deployment_projection()),
                      informer_for(wj::configmaps_resource(), "", wj::configmap_projection()),
                      informer_for(wj::replicasets_resource(), wj::kManagedBySelector, wj::replicaset_projection()),
                      informer_for(wj::pods_resource(), wj::kManagedBySelector, wj::pod_projection())};
  informers.replicasets.add_index(std::string(wj::kByControllerIndex), wo::kube::index_by_controller_owner_uid());
  informers.pods.add_index(std::string(wj::kByControllerIndex), wo::kube::index_by_controller_owner_uid());
  return informers;
}

// The WorkerJob controller, woken by its WorkerJobs, the Deployments and ConfigMaps they own, and the
// ReplicaSets and Pods labelled with their name.
void add_controller(wo::runtime::Manager& manager, const Informers& informers,
                    wo::workerjob::WorkerJobReconciler& reconciler, int max_concurrent_reconciles) {
  wo::runtime::ControllerOptions controller_options;
  controller_options.name = "workerjob";
  controller_options.max_concurrent_reconciles = max_concurrent_reconciles;
  auto& controller = manager.add_controller(std::move(controller_options), reconciler);
  controller.watch_for(informers.workerjobs);
  controller.watch_owned(informers.deployments, "worker.dev", "WorkerJob");
  controller.watch_owned(informers.configmaps, "worker.dev", "WorkerJob");
  const auto workerjob_of_labels = [](const web::json::value& object) {
    std::vector<wo::runtime::Request> out;
    for (const auto& key : wo::workerjob::workerjob_key_from_labels(object)) {
      out.push_back(wo::runtime::Request::from_key(key));
    }
    return out;
  };
  controller.watch_mapped(informers.replicasets, workerjob_of_labels);
  controller.watch_mapped(informers.pods, workerjob_of_labels);
}

// Runs the manager until the process is asked to stop (0) or the manager fails (1, logged and written as
// the termination message); sets leadership_lost when it failed because leadership was lost.
int run_manager(wo::runtime::Manager& manager, const wo::kube::Informer& workerjobs, std::stop_token stop,
                bool& leadership_lost) {
  try {
    manager.run(std::move(stop));
    return 0;
  } catch (const std::exception& e) {
    leadership_lost = dynamic_cast<const wo::runtime::LeadershipLost*>(&e) != nullptr;
    std::string message = e.what();
    // The manager's sync failure is generic; which CRD is missing and where it lives is ours to say.
    const auto workerjobs_error = workerjobs.last_error();
    if (!workerjobs.has_synced() && workerjobs_error && workerjobs_error->code == 404) {
      const auto& r = workerjobs.options().resource;
      message +=
          "; the CustomResourceDefinition " + r.plural + "." + r.group + " is not installed: kubectl apply -f crds/";
    }
    wo::log::error("operator stopped", {{"error", message}});
    wo::process::write_termination_message(message);
    return 1;
  }
}

// namespaces: --namespaces, parsed (and refused with exit 2) before anything starts.
int run(const wo::cli::FlagSet& flags, const std::vector<std::string>& namespaces,
        wo::process::ShutdownSignal& shutdown) {
  namespace wj = wo::workerjob;
  wo::metrics::Registry metrics;
  wo::metrics::register_process_metrics(metrics);
  wo::metrics::register_build_info(metrics, "worker_operator", wo::kVersion, wo::build_info::git_commit());
  wo::health::Checks health;
  health.add_liveness("process", [] { return std::string(); });

  wo::kube::Config config;
  try {
    config = wo::kube::load_config(flags.get_string("kubeconfig"));
  } catch (const std::exception& e) {
    return fail(2, std::string("cannot configure the Kubernetes client: ") + e.what());
  }
  wo::log::info("kubernetes client configured", {{"source", config.source}, {"server", config.server}});
  wo::kube::Client client(config, client_options(flags, metrics));

  wo::http::Server metrics_server(flags.get_string("metrics-addr"));
  wo::http::Server health_server(flags.get_string("health-addr"));
  wo::health::serve_endpoints(metrics_server, nullptr, &metrics);
  wo::health::serve_endpoints(health_server, &health, nullptr);
  try {
    metrics_server.start();
    health_server.start();
  } catch (const std::exception& e) {
    return fail(2, e.what());
  }

  wo::runtime::Manager manager(client, manager_options(flags, metrics, health));
  // A burst's Events wait for its reconciles (see EventRecorderOptions::defer_while): under a burst of new
  // WorkerJobs, their creation Events competed with the applies and status writes for the API server.
  wo::runtime::EventRecorderOptions event_options;
  event_options.defer_while = [&manager] { return manager.controllers_have_work(); };
  wo::runtime::EventRecorder events(client, std::move(event_options));
  const Informers informers = add_informers(manager, namespaces);
  wj::register_status_metrics(metrics, informers.workerjobs.store());
  wj::RenderOptions render_options;
  render_options.worker_image = flags.get_string("worker-image");
  wj::WorkerJobReconciler reconciler(
      client,
      {informers.workerjobs.store(), informers.deployments.store(), informers.configmaps.store(),
       informers.replicasets.store(), informers.pods.store()},
      events, render_options);
  add_controller(manager, informers, reconciler, static_cast<int>(flags.get_int("max-concurrent-reconciles")));

  // SIGTERM and SIGINT stop shutdown.token(); the manager stops with it.
  const std::stop_callback log_shutdown(shutdown.token(), [&] {
    wo::log::info("shutting down", {{"signal", shutdown.reason()}});
  });
  bool leadership_lost = false;
  const int code = run_manager(manager, informers.workerjobs, shutdown.token(), leadership_lost);
  // Events are the controllers' writes too: after leadership ended, those still queued belong to the next
  // leader's reconciles; drop them and cancel one in flight. On a graceful stop, write them (bounded).
  events.stop(leadership_lost ? std::chrono::milliseconds(0) : std::chrono::seconds(5));
  health_server.stop();
  metrics_server.stop();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives threads that allocate at once arenas of their own, up to 8 per core, and each arena keeps
  // what its thread freed: the informers' list pages and the HTTP client's buffers end up spread over
  // many. Two arenas cost the operator's few threads nothing measurable and cut its steady RSS with 1,000
  // WorkerJobs and their pods by about a sixth (make bench-scale, docs/benchmarks.md).
  mallopt(M_ARENA_MAX, 2);               // NOLINT(concurrency-mt-unsafe): no other thread exists yet
  wo::process::ShutdownSignal shutdown;  // blocks SIGTERM/SIGINT before any thread starts
  auto flags = make_flags();
  std::vector<std::string> namespaces;
  try {
    flags.parse(argc, argv);
    if (flags.get_bool("help")) {
      std::cout << flags.usage();
      return 0;
    }
    if (flags.get_bool("version")) {
      std::cout << wo::version_line("worker-operator", wo::build_info::git_commit()) << "\n";
      return 0;
    }
    namespaces = watched_namespaces(flags);  // a bad list is a usage error (exit 2) before anything starts
    wo::log::init({wo::log::parse_format(flags.get_string("log-format")),
                   wo::log::parse_level(flags.get_string("log-level")), "operator"});
  } catch (const std::exception& e) {
    std::cerr << "worker-operator: " << e.what() << "\n";
    return 2;
  }
  int code = 1;
  try {
    code = run(flags, namespaces, shutdown);
  } catch (const std::exception& e) {
    code = fail(1, std::string("fatal: ") + e.what());
    return code;
  }
  wo::log::info("stopped", {{"exit_code", code}});
  wo::log::shutdown();
  return code;
}
