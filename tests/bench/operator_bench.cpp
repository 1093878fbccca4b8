// make bench, operator part: N WorkerJobs (replicas 0) created at once in a fresh namespace.
//
// Measures, with the operator running as a process against the cluster KUBECONFIG names:
//   - wall time until every Deployment exists and every WorkerJob's status has caught up
//     (status.observedGeneration == metadata.generation and status.deployment set), both seen on
//     watches of the bench's own;
//   - create-to-Deployment latency p50/p99: from the WorkerJob create's response to the Deployment's
//     ADDED event;
//   - the operator's peak RSS (VmHWM) and the API requests it made (its rest_client_requests_total);
// and the raw limit beside it: the same WorkerJob creates, then the two writes the operator makes for
// each (the Deployment apply and the status write) issued directly by a tight client with the same
// concurrency, no operator in between.
//
// Every figure is the median of --rounds rounds with their min and max; operator and raw rounds
// alternate (operator first in even rounds, raw first in odd ones), since the machine may be shared. A
// wait that times out fails the bench: it yields no figure.
//
// Usage: operator_bench [--jobs N] [--concurrency C] [--rounds R] [--out FILE.json]

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
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "support/cluster.h"
#include "wo/cli.h"
#include "wo/version.h"
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

struct OperatorRun {
  double seconds_to_converge = 0;
  double p50_ms = 0, p99_ms = 0;
  long peak_rss_kib = 0;
  double api_requests = 0;
};

constexpr auto kWaitLimit = 10min;  // a wait this long fails the bench

// A WorkerJob the operator has caught up with: its status names the Deployment for its generation.
bool converged(const value& wj) {
  const value gen = wo::e2e::at(wj, "metadata.generation"), seen = wo::e2e::at(wj, "status.observedGeneration");
  return !seen.is_null() && gen == seen && wo::e2e::at(wj, "status.deployment").is_string();
}

// Names by the time a watch first showed them (as ADDED, or as converged for WorkerJobs).
class Arrivals {
 public:
  void record(const std::string& name) {
    std::lock_guard l(mu_);
    if (at_.emplace(name, Clock::now()).second) cv_.notify_all();
  }
  // Waits until `count` names arrived; throws when kWaitLimit passes first.
  void wait_for(size_t count, const std::string& what) {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, kWaitLimit, [&] { return at_.size() >= count; })) {
      throw std::runtime_error("only " + std::to_string(at_.size()) + " of " + std::to_string(count) + " " + what +
                               " within " + std::to_string(duration_cast<minutes>(kWaitLimit).count()) + " min");
    }
  }
  std::map<std::string, Clock::time_point> snapshot() const {
    std::lock_guard l(mu_);
    return at_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> at_;
};

// An informer of the bench's own on `resource` in ns, recording into `arrivals` the objects `counts` accepts.
std::unique_ptr<wo::kube::Informer> watch(wo::kube::Client& client, const wo::kube::ResourceRef& resource,
                                          const std::string& ns, Arrivals& arrivals,
                                          std::function<bool(const value&)> counts) {
  wo::kube::ReflectorOptions ro;
  ro.resource = resource;
  ro.namespace_ = ns;
  auto informer = std::make_unique<wo::kube::Informer>(client, ro);
  auto record = [&arrivals, counts](const wo::kube::ObjectPtr& o) {
    if (counts(*o)) arrivals.record(wo::kube::meta_string(*o, "name"));
  };
  informer->add_handlers(
      {record, [record](const wo::kube::ObjectPtr&, const wo::kube::ObjectPtr& o) { record(o); }, nullptr});
  informer->start();
  if (!informer->wait_for_sync(30s))
    throw std::runtime_error("the bench's own " + resource.plural + " watch did not sync");
  return informer;
}

OperatorRun run_operator(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-op");
  const uint16_t health_port = free_port();
  wo::e2e::OperatorProcess op(ns.name(),
                              {"--health-addr=127.0.0.1:" + std::to_string(health_port),
                               "--max-concurrent-reconciles=" + std::to_string(concurrency), "--log-level=info"});
  Arrivals deployments_seen, workerjobs_converged;
  auto deployments = watch(client, wo::workerjob::deployments_resource(), ns.name(), deployments_seen,
                           [](const value&) { return true; });
  auto workerjobs = watch(client, wo::workerjob::workerjobs_resource(), ns.name(), workerjobs_converged, converged);
  op.start();
  // The burst starts once the operator's caches have synced (start-up is not part of the figure).
  if (!wo::e2e::wait_until(
          [&] {
            return wo::e2e::run({"curl", "-sf", "http://127.0.0.1:" + std::to_string(health_port) + "/readyz"}).ok();
          },
          60s, wo::e2e::kPollInterval)) {
    throw std::runtime_error("the operator was not ready within 60 s:\n" + op.log_tail());
  }

  std::mutex mu;
  std::map<std::string, Clock::time_point> created_at;
  const auto start = Clock::now();
  parallel(jobs, concurrency, [&](int i) {
    client.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    std::lock_guard l(mu);
    created_at["bench-" + std::to_string(i)] = Clock::now();
  });
  deployments_seen.wait_for(static_cast<size_t>(jobs), "Deployments");
  workerjobs_converged.wait_for(static_cast<size_t>(jobs), "WorkerJob statuses caught up");
  OperatorRun r;
  r.seconds_to_converge = duration<double>(Clock::now() - start).count();
  std::vector<double> latencies;
  const auto seen = deployments_seen.snapshot();
  for (const auto& [name, t] : created_at) {
    if (auto it = seen.find(name); it != seen.end()) {
      latencies.push_back(duration<double, std::milli>(it->second - t).count());
    }
  }
  r.p50_ms = percentile(latencies, 0.5);
  r.p99_ms = percentile(latencies, 0.99);
  r.api_requests = wo::e2e::metric_sum(op.metrics(), "rest_client_requests_total{");
  // The bench runs the operator as its child: its pid is the newest worker-operator with our namespace.
  const auto pid = wo::e2e::run({"pgrep", "-n", "-f", "namespace=" + ns.name()});
  r.peak_rss_kib = pid.ok() ? peak_rss_kib(std::stoi(pid.out)) : -1;
  deployments->stop();
  workerjobs->stop();
  op.stop();
  return r;
}

// The raw limit: for each job, create the WorkerJob (the user's write, as in the operator's round), then
// apply its Deployment and write its status directly (the operator's two writes), with the same
// concurrency.
double run_raw(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-raw");
  const auto start = Clock::now();
  parallel(jobs, concurrency, [&](int i) {
    const value wj = client.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    const auto parsed = wo::api::parse_workerjob(wj);
    const auto rendered = wo::workerjob::render(*parsed.value, {wo::image_of("worker")});
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

// A figure over the rounds: median, min and max, and the samples in round order.
value summary(std::vector<double> samples) {
  value out = value::object(true);
  value list = value::array();
  for (size_t i = 0; i < samples.size(); ++i) list[i] = value::number(samples[i]);
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  out["median"] = value::number(n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2);
  out["min"] = value::number(samples.front());
  out["max"] = value::number(samples.back());
  out["samples"] = list;
  return out;
}

struct Rounds {
  std::vector<double> converge_s, raw_s, ratio, p50_ms, p99_ms, rss_mib, requests;
};

Rounds run_rounds(wo::kube::Client& client, int jobs, int concurrency, int rounds) {
  Rounds out;
  for (int round = 0; round < rounds; ++round) {
    OperatorRun op;
    double raw = 0;
    const auto operator_round = [&] {
      std::cerr << "operator bench: round " << round + 1 << "/" << rounds << ": " << jobs
                << " WorkerJobs through the operator...\n";
      op = run_operator(client, jobs, concurrency);
    };
    const auto raw_round = [&] {
      std::cerr << "operator bench: round " << round + 1 << "/" << rounds
                << ": the same writes from a tight client...\n";
      raw = run_raw(client, jobs, concurrency);
    };
    if (round % 2 == 0) {
      operator_round();
      raw_round();
    } else {
      raw_round();
      operator_round();
    }
    out.converge_s.push_back(op.seconds_to_converge);
    out.raw_s.push_back(raw);
    out.ratio.push_back(op.seconds_to_converge / raw);
    out.p50_ms.push_back(op.p50_ms);
    out.p99_ms.push_back(op.p99_ms);
    out.rss_mib.push_back(static_cast<double>(op.peak_rss_kib) / 1024.0);
    out.requests.push_back(op.api_requests);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  wo::cli::FlagSet flags("operator_bench", "Benchmarks the operator against the cluster KUBECONFIG names.");
  flags.add_int("jobs", "", 1000, "WorkerJobs to create");
  flags.add_int("concurrency", "", 4, "Operator --max-concurrent-reconciles, and the raw client's threads");
  flags.add_int("rounds", "", 3, "Rounds; operator and raw alternate within each, figures are medians");
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
  const int rounds = static_cast<int>(flags.get_int("rounds"));
  if (jobs < 1 || concurrency < 1 || rounds < 1) {
    std::cerr << "--jobs, --concurrency and --rounds must be at least 1\n";
    return 2;
  }
  try {
    wo::e2e::install_crd();
    wo::kube::Client client(wo::kube::load_config(""));
    const Rounds r = run_rounds(client, jobs, concurrency, rounds);
    value out = value::object(true);
    out["jobs"] = value::number(jobs);
    out["concurrency"] = value::number(concurrency);
    out["rounds"] = value::number(rounds);
    out["operator_seconds_to_converge"] = summary(r.converge_s);
    out["raw_seconds"] = summary(r.raw_s);
    out["ratio_to_raw"] = summary(r.ratio);
    out["create_to_deployment_p50_ms"] = summary(r.p50_ms);
    out["create_to_deployment_p99_ms"] = summary(r.p99_ms);
    out["operator_peak_rss_mib"] = summary(r.rss_mib);
    out["operator_api_requests"] = summary(r.requests);
    out["raw_api_requests"] = value::number(2.0 * jobs);  // the operator's two writes per WorkerJob
    std::cout << out.serialize() << "\n";
    if (!flags.get_string("out").empty()) std::ofstream(flags.get_string("out")) << out.serialize() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "operator bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
