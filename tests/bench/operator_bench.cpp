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

#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>

#include "bench_support.h"
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
using Clock = wo::bench::BenchClock;

value workerjob(const std::string& ns, int i) {
  return value::parse(
      R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","metadata":{"name":"bench-)" + std::to_string(i) +
      R"(","namespace":")" + ns +
      R"("},"spec":{"job":"bench.noop","replicas":0,"resources":{"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"memory":"32Mi"}}}})");
}

struct OperatorRun {
  double seconds_to_converge = 0;
  double p50_ms = 0, p99_ms = 0;
  long peak_rss_kib = 0;
  double api_requests = 0;
};

// A WorkerJob the operator has caught up with: its status names the Deployment for its generation.
bool converged(const value& wj) {
  const value gen = wo::e2e::at(wj, "metadata.generation"), seen = wo::e2e::at(wj, "status.observedGeneration");
  return !seen.is_null() && gen == seen && wo::e2e::at(wj, "status.deployment").is_string();
}

OperatorRun run_operator(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-op");
  wo::bench::Arrivals deployments_seen, workerjobs_converged;
  auto deployments = wo::bench::watch_arrivals(client, wo::workerjob::deployments_resource(), ns.name(),
                                               deployments_seen, [](const value&) { return true; });
  auto workerjobs = wo::bench::watch_arrivals(client, wo::workerjob::workerjobs_resource(), ns.name(),
                                              workerjobs_converged, converged);
  // The burst starts once the operator's caches have synced (start-up is not part of the figure).
  const auto op = wo::bench::start_operator(ns.name(), concurrency);

  std::mutex mu;
  std::map<std::string, Clock::time_point> created_at;
  const auto start = Clock::now();
  wo::bench::parallel(jobs, concurrency, [&](int i) {
    client.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    std::lock_guard l(mu);
    created_at["bench-" + std::to_string(i)] = Clock::now();
  });
  deployments_seen.wait_for(static_cast<size_t>(jobs), "Deployments");
  workerjobs_converged.wait_for(static_cast<size_t>(jobs), "WorkerJob statuses caught up");
  OperatorRun r;
  r.seconds_to_converge = duration<double>(Clock::now() - start).count();
  const std::vector<double> latencies = wo::bench::latencies_ms(created_at, deployments_seen.snapshot());
  r.p50_ms = wo::bench::percentile(latencies, 0.5);
  r.p99_ms = wo::bench::percentile(latencies, 0.99);
  r.api_requests = wo::e2e::metric_sum(op->metrics(), "rest_client_requests_total{");
  r.peak_rss_kib = static_cast<long>(wo::bench::sample_operator(*op).peak_rss_mib * 1024.0);
  deployments->stop();
  workerjobs->stop();
  op->stop();
  return r;
}

// The raw limit: for each job, create the WorkerJob (the user's write, as in the operator's round), then
// apply its Deployment and write its status directly (the operator's two writes), with the same
// concurrency.
double run_raw(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-raw");
  const auto start = Clock::now();
  wo::bench::parallel(jobs, concurrency, [&](int i) {
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
    out["operator_seconds_to_converge"] = wo::bench::summary(r.converge_s);
    out["raw_seconds"] = wo::bench::summary(r.raw_s);
    out["ratio_to_raw"] = wo::bench::summary(r.ratio);
    out["create_to_deployment_p50_ms"] = wo::bench::summary(r.p50_ms);
    out["create_to_deployment_p99_ms"] = wo::bench::summary(r.p99_ms);
    out["operator_peak_rss_mib"] = wo::bench::summary(r.rss_mib);
    out["operator_api_requests"] = wo::bench::summary(r.requests);
    out["raw_api_requests"] = value::number(2.0 * jobs);  // the operator's two writes per WorkerJob
    std::cout << out.serialize() << "\n";
    if (!flags.get_string("out").empty()) std::ofstream(flags.get_string("out")) << out.serialize() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "operator bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
