// make bench-scale: the operator at scale with a real working set. For each size N (default 1000 and
// 5000), N WorkerJobs with replicas 1 and a config, whose pods run on kwok's fake nodes (hack/bench-scale.sh
// starts kwok and the nodes), so the operator's WorkerJob, Deployment, ConfigMap, ReplicaSet and Pod caches
// fill as in production. Per size and round, with the operator as a process against KUBECONFIG's cluster:
//
//   - converge: from the first create until every WorkerJob is Ready for its generation (a watch of the
//     bench's own), so it includes the controller manager, the scheduler and kwok, not the operator only;
//   - create-to-Deployment p50 and p99: from a WorkerJob create's response to its Deployment's ADDED event;
//   - API requests per WorkerJob until converged (the operator's rest_client_requests_total, by verb);
//   - peak RSS during the burst (VmHWM);
//   - a fresh operator started on the converged namespace (a restart: one full list of everything): its
//     peak RSS while syncing, then over --idle-seconds with nothing changing its CPU, its RSS at the end
//     (steady RSS) and the requests it made;
//   - RSS per 1,000 cached pods: every WorkerJob scaled to 2 replicas (N more pods), another fresh operator
//     started, and its steady RSS compared with the previous one's. Only for sizes up to
//     --double-pods-up-to (1000): on a two-core machine the control plane takes longer than the wait limit
//     to start 5,000 more pods, and the cost of a pod is the same at any size.
//
// Rounds of a size run one after the other; every figure is the median of the rounds with min and max. A
// wait that times out fails the bench: it yields no figure.
//
// Usage: operator_scale_bench [--jobs 1000,5000] [--concurrency C] [--rounds R] [--idle-seconds S]
//                             [--double-pods-up-to N] [--out FILE]

#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster.h"
#include "wo/cli.h"
#include "workerjob/controller.h"

namespace {

using namespace std::chrono;
using web::json::value;
using Clock = wo::bench::BenchClock;

// The label and taint of kwok's fake nodes (hack/bench-scale.sh): only the bench's pods go there.
constexpr const char* kFakeNodeLabel = "type";
constexpr const char* kFakeNodeValue = "kwok";
constexpr const char* kFakeNodeTaint = "kwok.x-k8s.io/node";

value workerjob(const std::string& ns, int i) {
  const std::string name = "scale-" + std::to_string(i);
  return value::parse(R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","metadata":{"name":")" + name +
                      R"(","namespace":")" + ns + R"("},"spec":{"job":"bench.noop","replicas":1,)" +
                      R"("resources":{"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"memory":"32Mi"}},)" +
                      R"("config":{"table":"bench_)" + std::to_string(i) + R"(","concurrency":2},)" +
                      R"("template":{"nodeSelector":{")" + kFakeNodeLabel + R"(":")" + kFakeNodeValue + R"("},)" +
                      R"("tolerations":[{"key":")" + kFakeNodeTaint +
                      R"(","operator":"Exists","effect":"NoSchedule"}]}}})");
}

// The operator's API requests so far, in total and by verb.
std::map<std::string, double> requests_by_verb(const std::string& metrics) {
  std::map<std::string, double> out;
  for (const char* verb : {"get", "list", "watch", "create", "update", "apply", "patch", "delete"}) {
    const double n = wo::e2e::metric_sum(metrics, std::string("rest_client_requests_total{verb=\"") + verb + "\"");
    if (n > 0) out[verb] = n;
  }
  out["total"] = wo::e2e::metric_sum(metrics, "rest_client_requests_total{");
  return out;
}

struct Idle {
  double peak_rss_mib = 0;  // during start-up and sync
  double steady_rss_mib = 0;
  double cpu_percent = 0;  // of one core, over the idle window
  double requests = 0;     // during the idle window
};

// A fresh operator on the namespace as it is: synced, caught up (no WorkerJob left unreconciled is the
// caller's business), then left alone for `idle`.
Idle fresh_operator_idle(const std::string& ns, int concurrency, seconds idle) {
  const auto op = wo::bench::start_operator(ns, concurrency);
  // Its first reconciles of everything listed: no writes expected, but they are not idleness.
  wo::bench::wait_operator_idle(*op);
  const auto before = wo::bench::sample_operator(*op);
  const double requests_before = requests_by_verb(op->metrics())["total"];
  std::this_thread::sleep_for(idle);  // the idle window itself: what is measured is what happens in it
  const auto after = wo::bench::sample_operator(*op);
  Idle r;
  r.peak_rss_mib = after.peak_rss_mib;
  r.steady_rss_mib = after.rss_mib;
  r.cpu_percent = 100.0 * (after.cpu_seconds - before.cpu_seconds) / static_cast<double>(idle.count());
  r.requests = requests_by_verb(op->metrics())["total"] - requests_before;
  op->stop();
  return r;
}

struct Burst {
  double converge_s = 0, p50_ms = 0, p99_ms = 0, burst_peak_rss_mib = 0;
  std::map<std::string, double> requests;  // by verb, until converged
};

// The operator takes N new WorkerJobs created at once; returns when every one is Ready.
Burst burst(wo::kube::Client& client, const std::string& ns, int jobs, int concurrency) {
  wo::bench::Arrivals deployments_seen, workerjobs_ready;
  auto deployments = wo::bench::watch_arrivals(client, wo::workerjob::deployments_resource(), ns,
                                               {{deployments_seen, wo::bench::any_object}});
  auto workerjobs =
      wo::bench::watch_arrivals(client, wo::workerjob::workerjobs_resource(), ns,
                                {{workerjobs_ready, [](const value& wj) { return wo::bench::ready_with(wj, 1); }}});
  const auto op = wo::bench::start_operator(ns, concurrency);

  std::mutex mu;
  std::map<std::string, Clock::time_point> created_at;
  const auto start = Clock::now();
  wo::bench::parallel(jobs, concurrency, [&](int i) {
    client.create(wo::workerjob::workerjobs_resource(), ns, workerjob(ns, i));
    std::lock_guard l(mu);
    created_at["scale-" + std::to_string(i)] = Clock::now();
  });
  deployments_seen.wait_for(static_cast<size_t>(jobs), "Deployments");
  workerjobs_ready.wait_for(static_cast<size_t>(jobs), "WorkerJobs Ready");
  Burst r;
  r.converge_s = duration<double>(Clock::now() - start).count();
  const auto latencies = wo::bench::latencies_ms(created_at, deployments_seen.snapshot());
  r.p50_ms = wo::bench::percentile(latencies, 0.5);
  r.p99_ms = wo::bench::percentile(latencies, 0.99);
  r.requests = requests_by_verb(op->metrics());
  r.burst_peak_rss_mib = wo::bench::sample_operator(*op).peak_rss_mib;
  deployments->stop();
  workerjobs->stop();
  op->stop();
  return r;
}

// Every WorkerJob scaled to `replicas` through its scale subresource, with an operator of its own passing
// that on to the Deployments; returns when every Deployment has that many ready replicas.
void scale_all(wo::kube::Client& client, const std::string& ns, int jobs, int replicas, int concurrency) {
  wo::bench::Arrivals scaled;
  auto deployments = wo::bench::watch_arrivals(client, wo::workerjob::deployments_resource(), ns,
                                               {{scaled, [replicas](const value& d) {
                                                   const value ready = wo::e2e::at(d, "status.readyReplicas");
                                                   return ready.is_integer() && ready.as_integer() >= replicas;
                                                 }}});
  const auto op = wo::bench::start_operator(ns, concurrency);
  value patch = value::object();
  patch["spec"] = value::object();
  patch["spec"]["replicas"] = value::number(replicas);
  wo::bench::parallel(jobs, concurrency, [&](int i) {
    client.merge_patch(wo::workerjob::workerjobs_resource(), ns, "scale-" + std::to_string(i), patch, "scale");
  });
  scaled.wait_for(static_cast<size_t>(jobs), "Deployments with " + std::to_string(replicas) + " ready replicas");
  deployments->stop();
  op->stop();
}

struct Round {
  Burst burst;
  Idle idle;                        // a fresh operator, N pods
  std::optional<Idle> idle_double;  // a fresh operator, 2N pods (sizes up to --double-pods-up-to)
  double rss_per_1000_pods_mib = 0;
};

Round run_round(wo::kube::Client& client, int jobs, int concurrency, seconds idle, bool double_pods) {
  Round r;
  wo::e2e::TestNamespace ns("scale");
  std::cerr << "scale bench: " << jobs << " WorkerJobs created at once...\n";
  r.burst = burst(client, ns.name(), jobs, concurrency);
  std::cerr << "scale bench: converged in " << r.burst.converge_s << " s; a fresh operator, idle " << idle.count()
            << " s...\n";
  r.idle = fresh_operator_idle(ns.name(), concurrency, idle);
  if (double_pods) {
    std::cerr << "scale bench: every WorkerJob scaled to 2 replicas...\n";
    scale_all(client, ns.name(), jobs, 2, concurrency);
    std::cerr << "scale bench: a fresh operator with twice the pods, idle " << idle.count() << " s...\n";
    r.idle_double = fresh_operator_idle(ns.name(), concurrency, idle);
    r.rss_per_1000_pods_mib = (r.idle_double->steady_rss_mib - r.idle.steady_rss_mib) * 1000.0 / jobs;
  }
  std::cerr << "scale bench: deleting the namespace...\n";
  wo::bench::delete_namespace_and_wait(ns.name());
  return r;
}

value figures_of(const std::vector<Round>& rounds, int jobs) {
  std::map<std::string, std::vector<double>> f;
  for (const auto& r : rounds) {
    f["seconds_to_converge"].push_back(r.burst.converge_s);
    f["create_to_deployment_p50_ms"].push_back(r.burst.p50_ms);
    f["create_to_deployment_p99_ms"].push_back(r.burst.p99_ms);
    f["requests_per_workerjob"].push_back(r.burst.requests.at("total") / jobs);
    f["burst_peak_rss_mib"].push_back(r.burst.burst_peak_rss_mib);
    f["restart_peak_rss_mib"].push_back(r.idle.peak_rss_mib);
    f["steady_rss_mib"].push_back(r.idle.steady_rss_mib);
    f["idle_cpu_percent"].push_back(r.idle.cpu_percent);
    f["idle_requests"].push_back(r.idle.requests);
    if (r.idle_double) {
      f["steady_rss_mib_twice_the_pods"].push_back(r.idle_double->steady_rss_mib);
      f["rss_per_1000_pods_mib"].push_back(r.rss_per_1000_pods_mib);
    }
  }
  value out = value::object(true);
  out["workerjobs"] = value::number(jobs);
  out["rounds"] = value::number(static_cast<int>(rounds.size()));
  for (auto& [name, samples] : f) out[name] = wo::bench::summary(samples);
  value verbs = value::object(true);
  for (const auto& [verb, n] : rounds.back().burst.requests) verbs[verb] = value::number(n);
  out["requests_by_verb_last_round"] = verbs;
  return out;
}

std::vector<int> parse_sizes(const std::string& text) {
  std::vector<int> sizes;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const int n = std::stoi(item, &used);
      if (used != item.size() || n < 1) throw std::invalid_argument(item);
      sizes.push_back(n);
    } catch (const std::exception&) {
      throw std::invalid_argument("--jobs: \"" + item + "\" is not a positive number (want e.g. 1000,5000)");
    }
  }
  if (sizes.empty()) throw std::invalid_argument("--jobs: no size given (want e.g. 1000,5000)");
  return sizes;
}

// The fake nodes must be there: without them the pods would never be Ready (or would land on the real
// node), and the bench would time out after ten minutes instead of saying why now.
void require_fake_nodes() {
  const auto nodes =
      wo::e2e::kubectl({"get", "nodes", "-l", std::string(kFakeNodeLabel) + "=" + kFakeNodeValue, "-o", "name"});
  if (!nodes.ok() || nodes.out.empty()) {
    throw std::runtime_error("no kwok node (label " + std::string(kFakeNodeLabel) + "=" + kFakeNodeValue +
                             ") in the cluster: run the scale bench with make bench-scale (hack/bench-scale.sh)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  wo::cli::FlagSet flags("operator_scale_bench",
                         "Benchmarks the operator with thousands of WorkerJobs whose pods run on kwok's fake nodes.");
  flags.add_string("jobs", "", "1000,5000", "Sizes: WorkerJobs per run, comma-separated");
  flags.add_int("concurrency", "", 4, "Operator --max-concurrent-reconciles, and the creating client's threads");
  flags.add_int("rounds", "", 1, "Rounds per size; figures are medians");
  flags.add_int("idle-seconds", "", 60, "How long a fresh operator is left alone to measure idle CPU and RSS");
  flags.add_int("double-pods-up-to", "", 1000,
                "Sizes up to this also scale every WorkerJob to 2 replicas to measure RSS per 1,000 cached pods");
  flags.add_string("out", "", "", "Write the figures as JSON to this file");
  std::vector<int> sizes;
  try {
    flags.parse(argc, argv);
    if (flags.get_bool("help")) {
      std::cout << flags.usage();
      return 0;
    }
    sizes = parse_sizes(flags.get_string("jobs"));
    if (flags.get_int("concurrency") < 1 || flags.get_int("rounds") < 1 || flags.get_int("idle-seconds") < 1) {
      throw std::invalid_argument("--concurrency, --rounds and --idle-seconds must be at least 1");
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  const int concurrency = static_cast<int>(flags.get_int("concurrency"));
  const seconds idle(flags.get_int("idle-seconds"));
  try {
    require_fake_nodes();
    wo::e2e::install_crd();
    wo::kube::Client client(wo::kube::load_config(""));
    value out = value::object(true);
    out["load_average"] = value::object(true);
    out["load_average"]["start"] = value::string(wo::bench::load_average());
    out["concurrency"] = value::number(concurrency);
    out["idle_seconds"] = value::number(static_cast<int>(idle.count()));
    value runs = value::array();
    for (size_t s = 0; s < sizes.size(); ++s) {
      std::vector<Round> rounds;
      for (int round = 0; round < flags.get_int("rounds"); ++round) {
        std::cerr << "scale bench: size " << sizes[s] << ", round " << round + 1 << "/" << flags.get_int("rounds")
                  << "\n";
        rounds.push_back(
            run_round(client, sizes[s], concurrency, idle, sizes[s] <= flags.get_int("double-pods-up-to")));
      }
      runs[s] = figures_of(rounds, sizes[s]);
    }
    out["sizes"] = runs;
    out["load_average"]["end"] = value::string(wo::bench::load_average());
    std::cout << out.serialize() << "\n";
    if (!flags.get_string("out").empty()) std::ofstream(flags.get_string("out")) << out.serialize() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "scale bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
