// make bench, operator part: N WorkerJobs (replicas 0) created at once in a fresh namespace.
//
// Measures, with the operator running as a process against the cluster KUBECONFIG names:
//   - wall time until every Deployment exists and every WorkerJob's status has caught up
//     (status.observedGeneration == metadata.generation and status.deployment set), both seen on
//     watches of the bench's own;
//   - create-to-Deployment latency p50/p99: from the WorkerJob create's response to the Deployment's
//     ADDED event;
//   - the wall time until every WorkerJob is Ready as well (the Deployment controller has reported);
//   - the operator's peak RSS (VmHWM) and the API requests it made (its rest_client_requests_total) by the
//     time every WorkerJob is Ready and the operator has nothing left to do: all of its writes, not only
//     those made before the status caught up; and, read from its metrics the moment it has converged,
//     the requests made until then, which competed with the burst's own writes;
//   - the mean latency of an apply and of a patch (the status writes) until then, as its client measured
//     them (rest_client_request_duration_seconds), beside the raw client's, measured by the same client
//     code: how much slower the API server answers with the operator's side of the load; and the API
//     server's own mean time for the same requests on each side (its apiserver_request_duration_seconds,
//     read before and after), which tells the server's share of that from the client's;
// and the raw limit beside it: the same WorkerJob creates, then the two writes the operator makes for
// each (the Deployment apply and the status write) issued directly by a tight client with the same
// concurrency, no operator in between, observed by the same watches of the bench's own.
//
// Every figure is the median of --rounds rounds with their min and max; operator and raw rounds
// alternate (operator first in even rounds, raw first in odd ones), since the machine may be shared. A
// wait that times out fails the bench: it yields no figure.
//
// With --baseline-operator, another build of the operator (an older commit's) runs in the same rounds, so
// that "faster than before" is measured side by side, not against a figure from another day.
//
// Usage: operator_bench [--jobs N] [--concurrency C] [--rounds R] [--out FILE.json]
//                       [--baseline-operator PATH [--baseline-version TEXT]]

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "bench_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "support/cluster.h"
#include "wo/cli.h"
#include "wo/metrics.h"
#include "wo/version.h"
#include "workerjob/controller.h"

namespace {

using namespace std::chrono;
using web::json::value;
using Clock = wo::bench::BenchClock;

// The mean latency of `verb` requests in a client's metrics text, in milliseconds (0 without any).
double mean_ms(const std::string& metrics_text, const std::string& verb) {
  const std::string labels = "{verb=\"" + verb + "\"}";
  const double count = wo::e2e::metric_sum(metrics_text, "rest_client_request_duration_seconds_count" + labels);
  const double sum = wo::e2e::metric_sum(metrics_text, "rest_client_request_duration_seconds_sum" + labels);
  return count > 0 ? 1000.0 * sum / count : 0.0;
}

// The client's mean latencies of the operator's two writes.
struct WriteLatency {
  double apply_ms = 0, patch_ms = 0;
  explicit WriteLatency(const std::string& metrics_text)
      : apply_ms(mean_ms(metrics_text, "apply")), patch_ms(mean_ms(metrics_text, "patch")) {}
  WriteLatency() = default;
};

// The API server's cumulative time and count for Deployment applies and WorkerJob status patches, which
// only the side being measured makes; two snapshots give the side's server-side mean latencies.
struct ServerTime {
  double apply_s = 0, apply_n = 0, patch_s = 0, patch_n = 0;

  static ServerTime now() {
    const auto r = wo::e2e::kubectl({"get", "--raw", "/metrics"});
    if (!r.ok()) throw std::runtime_error("kubectl get --raw /metrics: " + r.err);
    ServerTime t;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      const bool sum = line.rfind("apiserver_request_duration_seconds_sum{", 0) == 0;
      const bool count = line.rfind("apiserver_request_duration_seconds_count{", 0) == 0;
      if (!sum && !count) continue;
      const auto has = [&line](const char* label) { return line.find(label) != std::string::npos; };
      const double v = std::stod(line.substr(line.rfind(' ') + 1));
      if (has(R"(resource="deployments")") && has(R"(subresource="")") && has(R"(verb="APPLY")")) {
        (sum ? t.apply_s : t.apply_n) += v;
      } else if (has(R"(resource="workerjobs")") && has(R"(subresource="status")") && has(R"(verb="PATCH")")) {
        (sum ? t.patch_s : t.patch_n) += v;
      }
    }
    return t;
  }
  // The mean latencies, in milliseconds, of the requests between `before` and this snapshot.
  WriteLatency since(const ServerTime& before) const {
    WriteLatency l;
    if (apply_n > before.apply_n) l.apply_ms = 1000.0 * (apply_s - before.apply_s) / (apply_n - before.apply_n);
    if (patch_n > before.patch_n) l.patch_ms = 1000.0 * (patch_s - before.patch_s) / (patch_n - before.patch_n);
    return l;
  }
};

// A side's latency figures by name: its client's and the API server's mean apply and patch times.
std::map<std::string, double> latency_figures(const WriteLatency& client, const WriteLatency& server) {
  return {{"apply_ms", client.apply_ms},
          {"patch_ms", client.patch_ms},
          {"server_apply_ms", server.apply_ms},
          {"server_patch_ms", server.patch_ms}};
}

value workerjob(const std::string& ns, int i) {
  return value::parse(
      R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","metadata":{"name":"bench-)" + std::to_string(i) +
      R"(","namespace":")" + ns +
      R"("},"spec":{"job":"bench.noop","replicas":0,"resources":{"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"memory":"32Mi"}}}})");
}

struct OperatorRun {
  double seconds_to_converge = 0;
  double seconds_to_ready = 0;
  double p50_ms = 0, p99_ms = 0;
  long peak_rss_kib = 0;
  double api_requests = 0;
  double api_requests_until_converged = 0;  // those that competed with the burst's own writes
  WriteLatency latency;                     // until converged
  WriteLatency server_latency;              // the API server's, until converged
};

struct RawRun {
  double seconds = 0;
  WriteLatency latency, server_latency;
};

// A WorkerJob the operator has caught up with: its status names the Deployment for its generation.
bool converged(const value& wj) {
  const value gen = wo::e2e::at(wj, "metadata.generation"), seen = wo::e2e::at(wj, "status.observedGeneration");
  return !seen.is_null() && gen == seen && wo::e2e::at(wj, "status.deployment").is_string();
}

// `binary` empty: this build's operator; otherwise another build's, the baseline.
OperatorRun run_operator(wo::kube::Client& client, int jobs, int concurrency, const std::string& binary) {
  wo::e2e::TestNamespace ns("bench-op");
  wo::bench::Arrivals deployments_seen, workerjobs_converged, workerjobs_ready;
  auto deployments = wo::bench::watch_arrivals(client, wo::workerjob::deployments_resource(), ns.name(),
                                               {{deployments_seen, wo::bench::any_object}});
  auto workerjobs =
      wo::bench::watch_arrivals(client, wo::workerjob::workerjobs_resource(), ns.name(),
                                {{workerjobs_converged, converged},
                                 {workerjobs_ready, [](const value& wj) { return wo::bench::ready_with(wj, 0); }}});
  // The burst starts once the operator's caches have synced (start-up is not part of the figure).
  const auto op = wo::bench::start_operator(ns.name(), concurrency, binary);

  std::mutex mu;
  std::map<std::string, Clock::time_point> created_at;
  const ServerTime server_before = ServerTime::now();
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
  const std::string converged_metrics = op->metrics();
  r.api_requests_until_converged = wo::e2e::metric_sum(converged_metrics, "rest_client_requests_total{");
  r.latency = WriteLatency(converged_metrics);
  r.server_latency = ServerTime::now().since(server_before);
  workerjobs_ready.wait_for(static_cast<size_t>(jobs), "WorkerJobs Ready");
  r.seconds_to_ready = duration<double>(Clock::now() - start).count();
  const std::vector<double> latencies = wo::bench::latencies_ms(created_at, deployments_seen.snapshot());
  r.p50_ms = wo::bench::percentile(latencies, 0.5);
  r.p99_ms = wo::bench::percentile(latencies, 0.99);
  wo::bench::wait_operator_idle(*op);  // its writes after the last status change are counted too
  r.api_requests = wo::e2e::metric_sum(op->metrics(), "rest_client_requests_total{");
  r.peak_rss_kib = static_cast<long>(wo::bench::sample_operator(*op).peak_rss_mib * 1024.0);
  deployments->stop();
  workerjobs->stop();
  op->stop();
  wo::bench::delete_namespace_and_wait(ns.name());  // the next side runs on a quiet cluster
  return r;
}

// The raw limit: for each job, create the WorkerJob (the user's write, as in the operator's round), then
// apply its Deployment and write its status directly (the operator's two writes), with the same
// concurrency.
RawRun run_raw(wo::kube::Client& client, int jobs, int concurrency) {
  wo::e2e::TestNamespace ns("bench-raw");
  // The same observers as on the operator's side: the API server's work for the bench's own watches falls
  // on both sides alike.
  wo::bench::Arrivals deployments_seen, workerjobs_seen;
  auto deployments = wo::bench::watch_arrivals(client, wo::workerjob::deployments_resource(), ns.name(),
                                               {{deployments_seen, wo::bench::any_object}});
  auto workerjobs = wo::bench::watch_arrivals(client, wo::workerjob::workerjobs_resource(), ns.name(),
                                              {{workerjobs_seen, wo::bench::any_object}});
  // The writes go through a client of their own, so that its metrics time exactly them.
  wo::metrics::Registry registry;
  wo::kube::ClientOptions options;
  options.metrics = &registry;
  wo::kube::Client writer(wo::kube::load_config(""), options);
  const ServerTime server_before = ServerTime::now();
  const auto start = Clock::now();
  wo::bench::parallel(jobs, concurrency, [&](int i) {
    const value wj = writer.create(wo::workerjob::workerjobs_resource(), ns.name(), workerjob(ns.name(), i));
    const auto parsed = wo::api::parse_workerjob(wj);
    const auto rendered = wo::workerjob::render(*parsed.value, {wo::image_of("worker")});
    const std::string name = "bench-" + std::to_string(i);
    writer.apply(wo::workerjob::deployments_resource(), ns.name(), name, rendered.value->deployment, "bench");
    value patch = value::object();
    patch["status"] = value::object();
    patch["status"]["observedGeneration"] = value::number(1);
    patch["status"]["deployment"] = value::string(name);
    writer.merge_patch(wo::workerjob::workerjobs_resource(), ns.name(), name, patch, "status");
  });
  RawRun r;
  r.seconds = duration<double>(Clock::now() - start).count();
  r.latency = WriteLatency(registry.render());
  r.server_latency = ServerTime::now().since(server_before);
  deployments->stop();
  workerjobs->stop();
  wo::bench::delete_namespace_and_wait(ns.name());  // the next side runs on a quiet cluster
  return r;
}

struct Figures {
  std::vector<double> converge_s, ready_s, p50_ms, p99_ms, rss_mib, requests, requests_until_converged;
  std::map<std::string, std::vector<double>> latency_ms;  // by latency_figures' names
  void add(const OperatorRun& r) {
    converge_s.push_back(r.seconds_to_converge);
    ready_s.push_back(r.seconds_to_ready);
    p50_ms.push_back(r.p50_ms);
    p99_ms.push_back(r.p99_ms);
    rss_mib.push_back(static_cast<double>(r.peak_rss_kib) / 1024.0);
    requests.push_back(r.api_requests);
    requests_until_converged.push_back(r.api_requests_until_converged);
    for (const auto& [name, ms] : latency_figures(r.latency, r.server_latency)) latency_ms[name].push_back(ms);
  }
  value summaries() const {
    value out = value::object(true);
    out["seconds_to_converge"] = wo::bench::summary(converge_s);
    out["seconds_to_ready"] = wo::bench::summary(ready_s);
    out["create_to_deployment_p50_ms"] = wo::bench::summary(p50_ms);
    out["create_to_deployment_p99_ms"] = wo::bench::summary(p99_ms);
    out["peak_rss_mib"] = wo::bench::summary(rss_mib);
    out["api_requests"] = wo::bench::summary(requests);
    out["api_requests_until_converged"] = wo::bench::summary(requests_until_converged);
    for (const auto& [name, samples] : latency_ms) out[name] = wo::bench::summary(samples);
    return out;
  }
};

struct Rounds {
  Figures op, baseline;
  std::vector<double> raw_s, ratio, baseline_over_op;
  std::map<std::string, std::vector<double>> raw_latency_ms;  // by latency_figures' names
};

// Each round runs every side once: this operator, the raw client and, given a baseline binary, the
// baseline operator. The order rotates from round to round so that a shared machine's load falls on
// every side alike; ratios are taken within a round.
Rounds run_rounds(wo::kube::Client& client, int jobs, int concurrency, int rounds, const std::string& baseline) {
  Rounds out;
  for (int round = 0; round < rounds; ++round) {
    OperatorRun op, base;
    RawRun raw;
    const std::string of = std::to_string(round + 1) + "/" + std::to_string(rounds) + ": ";
    std::vector<std::function<void()>> sides = {
        [&] {
          std::cerr << "operator bench: round " << of << jobs << " WorkerJobs through the operator...\n";
          op = run_operator(client, jobs, concurrency, "");
        },
        [&] {
          std::cerr << "operator bench: round " << of << "the same writes from a tight client...\n";
          raw = run_raw(client, jobs, concurrency);
        }};
    if (!baseline.empty()) {
      sides.emplace_back([&] {
        std::cerr << "operator bench: round " << of << jobs << " WorkerJobs through the baseline " << baseline
                  << "...\n";
        base = run_operator(client, jobs, concurrency, baseline);
      });
    }
    std::rotate(sides.begin(), sides.begin() + (round % static_cast<int>(sides.size())), sides.end());
    for (const auto& side : sides) side();
    out.op.add(op);
    out.raw_s.push_back(raw.seconds);
    for (const auto& [name, ms] : latency_figures(raw.latency, raw.server_latency)) {
      out.raw_latency_ms[name].push_back(ms);
    }
    out.ratio.push_back(op.seconds_to_converge / raw.seconds);
    if (!baseline.empty()) {
      out.baseline.add(base);
      out.baseline_over_op.push_back(base.seconds_to_converge / op.seconds_to_converge);
    }
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
  flags.add_string("baseline-operator", "", "",
                   "Another build's worker-operator binary, run in the same rounds for comparison");
  flags.add_string("baseline-version", "", "", "What the baseline is (e.g. its commit), for the report");
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
    const std::string baseline = flags.get_string("baseline-operator");
    if (!baseline.empty() && access(baseline.c_str(), X_OK) != 0) {
      std::cerr << "--baseline-operator " << baseline << ": not an executable file\n";
      return 2;
    }
    const std::string load_before = wo::bench::load_average();
    const Rounds r = run_rounds(client, jobs, concurrency, rounds, baseline);
    value out = value::object(true);
    out["jobs"] = value::number(jobs);
    out["concurrency"] = value::number(concurrency);
    out["load_average"] = value::object(true);
    out["load_average"]["start"] = value::string(load_before);
    out["load_average"]["end"] = value::string(wo::bench::load_average());
    out["rounds"] = value::number(rounds);
    const value op = r.op.summaries();
    out["operator_seconds_to_converge"] = op.at("seconds_to_converge");
    out["operator_seconds_to_ready"] = op.at("seconds_to_ready");
    out["raw_seconds"] = wo::bench::summary(r.raw_s);
    out["ratio_to_raw"] = wo::bench::summary(r.ratio);
    out["create_to_deployment_p50_ms"] = op.at("create_to_deployment_p50_ms");
    out["create_to_deployment_p99_ms"] = op.at("create_to_deployment_p99_ms");
    out["operator_peak_rss_mib"] = op.at("peak_rss_mib");
    out["operator_api_requests"] = op.at("api_requests");
    out["operator_api_requests_until_converged"] = op.at("api_requests_until_converged");
    out["raw_api_requests"] = value::number(2.0 * jobs);  // the operator's two writes per WorkerJob
    for (const auto& [name, samples] : r.raw_latency_ms) {
      out["operator_" + name] = op.at(name);
      out["raw_" + name] = wo::bench::summary(samples);
    }
    if (!baseline.empty()) {
      out["baseline"] = r.baseline.summaries();
      out["baseline"]["binary"] = value::string(baseline);
      out["baseline"]["version"] = value::string(flags.get_string("baseline-version"));
      out["baseline_over_operator"] = wo::bench::summary(r.baseline_over_op);
    }
    std::cout << out.serialize() << "\n";
    if (!flags.get_string("out").empty()) std::ofstream(flags.get_string("out")) << out.serialize() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "operator bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
