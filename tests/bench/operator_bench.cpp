// make bench, operator part: N WorkerJobs (replicas 0) created at once in a fresh namespace.
//
// Measures, with the operator running as a process against the cluster KUBECONFIG names:
//   - wall time until every Deployment exists and every WorkerJob's status has caught up
//     (status.observedGeneration == metadata.generation and status.deployment set);
//   - create-to-Deployment latency p50/p99: from the WorkerJob create's response to the Deployment's
//     ADDED event on a watch of the bench's own;
//   - the operator's peak RSS (VmHWM) and the API requests it made (its rest_client_requests_total);
// and the raw limit beside it: the same Deployment creates and status writes issued directly by a
// tight client with the same concurrency, no operator in between.
//
// Usage: operator_bench [--jobs N] [--concurrency C] [--out FILE.json]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "support/cluster.h"
#include "wo/cli.h"
#include "workerjob/controller.h"

namespace {

using namespace std::chrono;
using web::json::value;
using Clock = steady_clock;

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("bind to a free loopback port: " + std::generic_category().message(err));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1))));
  return v[i];
}

// Runs f(i) for i in [0, n) on `threads` threads.
void parallel(int n, int threads, const std::function<void(int)>& f) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next++) < n;) f(i);
    });
  }
  for (auto& t : pool) t.join();
}

value workerjob(const std::string& ns, int i) {
  return value::parse(
      R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","metadata":{"name":"bench-)" + std::to_string(i) +
      R"(","namespace":")" + ns +
      R"("},"spec":{"job":"bench.noop","replicas":0,"resources":{"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"memory":"32Mi"}}}})");
}

long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double scrape_requests(uint16_t port) {
  const auto r = wo::e2e::run({"curl", "-s", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  double total = 0;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("rest_client_requests_total{", 0) == 0) total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

struct OperatorRun {
  double seconds_to_converge = 0;
  double p50_ms = 0, p99_ms = 0;
  long peak_rss_kib = 0;
  double api_requests = 0;
};

OperatorRun run_operator(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-op");
  const uint16_t metrics_port = free_port(), health_port = free_port();
  wo::e2e::OperatorProcess op(ns.name(),
                              {"--metrics-addr=127.0.0.1:" + std::to_string(metrics_port),
                               "--health-addr=127.0.0.1:" + std::to_string(health_port),
                               "--max-concurrent-reconciles=" + std::to_string(concurrency), "--log-level=info"});
  // The bench's own watch on Deployments: arrival time per name.
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> created_at, deployment_seen;
  wo::kube::ReflectorOptions ro;
  ro.resource = wo::workerjob::deployments_resource();
  ro.namespace_ = ns.name();
  wo::kube::Informer deployments(client, ro);
  deployments.add_handlers({[&](const wo::kube::ObjectPtr& o) {
                              std::lock_guard l(mu);
                              deployment_seen.emplace(wo::kube::meta_string(*o, "name"), Clock::now());
                              cv.notify_all();
                            },
                            nullptr, nullptr});
  deployments.start();
  deployments.wait_for_sync(30s);
  op.start();
  // The burst starts once the operator's caches have synced (start-up is not part of the figure).
  wo::e2e::wait_until(60s, [&] {
    return wo::e2e::run({"curl", "-sf", "http://127.0.0.1:" + std::to_string(health_port) + "/readyz"}).ok();
  });

  const auto start = Clock::now();
  parallel(jobs, concurrency, [&](int i) {
    client.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    std::lock_guard l(mu);
    created_at["bench-" + std::to_string(i)] = Clock::now();
  });
  {
    std::unique_lock l(mu);
    cv.wait_for(l, 10min, [&] { return static_cast<int>(deployment_seen.size()) >= jobs; });
  }
  // Status caught up: poll the list (one request per second).
  for (;;) {
    const value list = client.list(wo::workerjob::workerjobs_resource(), ns.name());
    int done = 0;
    for (const auto& wj : list.at("items").as_array()) {
      const value gen = wo::e2e::at(wj, "metadata.generation"), seen = wo::e2e::at(wj, "status.observedGeneration");
      if (!seen.is_null() && gen == seen && wo::e2e::at(wj, "status.deployment").is_string()) ++done;
    }
    if (done >= jobs || Clock::now() - start > 10min) break;
    std::this_thread::sleep_for(1s);
  }
  OperatorRun r;
  r.seconds_to_converge = duration<double>(Clock::now() - start).count();
  std::vector<double> latencies;
  {
    std::lock_guard l(mu);
    for (const auto& [name, t] : created_at) {
      if (auto it = deployment_seen.find(name); it != deployment_seen.end()) {
        latencies.push_back(duration<double, std::milli>(it->second - t).count());
      }
    }
  }
  r.p50_ms = percentile(latencies, 0.5);
  r.p99_ms = percentile(latencies, 0.99);
  r.api_requests = scrape_requests(metrics_port);
  // The bench runs the operator as its child: its pid is the newest worker-operator with our namespace.
  const auto pid = wo::e2e::run({"pgrep", "-n", "-f", "namespace=" + ns.name()});
  r.peak_rss_kib = pid.ok() ? peak_rss_kib(std::stoi(pid.out)) : -1;
  deployments.stop();
  op.stop();
  return r;
}

// The raw limit: for each job, create the WorkerJob, create its Deployment and write its status
// directly, with the same concurrency.
double run_raw(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-raw");
  const auto start = Clock::now();
  parallel(jobs, concurrency, [&](int i) {
    const value wj = client.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    const auto parsed = wo::api::parse_workerjob(wj);
    const auto rendered = wo::workerjob::render(*parsed.value, {"localhost/worker-operator/worker:dev"});
    const std::string name = "bench-" + std::to_string(i);
    client.apply(wo::workerjob::deployments_resource(), ns.name(), name, rendered.value->deployment, "bench");
    value patch = value::object();
    patch["status"] = value::object();
    patch["status"]["observedGeneration"] = value::number(1);
    patch["status"]["deployment"] = value::string(name);
    client.merge_patch(wo::workerjob::workerjobs_resource(), ns.name(), name, patch, "status");
  });
  return duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  wo::cli::FlagSet flags("operator_bench", "Benchmarks the operator against the cluster KUBECONFIG names.");
  flags.add_int("jobs", "", 1000, "WorkerJobs to create");
  flags.add_int("concurrency", "", 4, "Operator --max-concurrent-reconciles, and the raw client's threads");
  flags.add_string("out", "", "", "Write the figures as JSON to this file");
  try {
    flags.parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (flags.get_bool("help")) {
    std::cout << flags.usage();
    return 0;
  }
  const int jobs = static_cast<int>(flags.get_int("jobs"));
  const int concurrency = static_cast<int>(flags.get_int("concurrency"));
  try {
    wo::e2e::install_crd();
    wo::kube::Client client(wo::kube::load_config(""));
    std::cerr << "operator bench: " << jobs << " WorkerJobs through the operator...\n";
    const OperatorRun op = run_operator(client, jobs, concurrency);
    std::cerr << "operator bench: the same writes from a tight client...\n";
    const double raw = run_raw(client, jobs, concurrency);
    value out = value::object(true);
    out["jobs"] = value::number(jobs);
    out["concurrency"] = value::number(concurrency);
    out["operator_seconds_to_converge"] = value::number(op.seconds_to_converge);
    out["raw_seconds"] = value::number(raw);
    out["ratio_to_raw"] = value::number(raw > 0 ? op.seconds_to_converge / raw : 0);
    out["create_to_deployment_p50_ms"] = value::number(op.p50_ms);
    out["create_to_deployment_p99_ms"] = value::number(op.p99_ms);
    out["operator_peak_rss_mib"] = value::number(static_cast<double>(op.peak_rss_kib) / 1024.0);
    out["operator_api_requests"] = value::number(op.api_requests);
    out["raw_api_requests"] = value::number(3.0 * jobs);
    std::cout << out.serialize() << "\n";
    if (!flags.get_string("out").empty()) std::ofstream(flags.get_string("out")) << out.serialize() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "operator bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
