// What the operator benchmarks share: rounds and their summaries, a parallel burst of writes, names timed
// by when a watch of the bench's own first showed them, and a process's memory and CPU read from /proc.
#pragma once

#include <cpprest/json.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kube/informer.h"
#include "support/cluster.h"
#include "testing/figures.h"

namespace wo::bench {

using BenchClock = std::chrono::steady_clock;

// A wait this long fails the bench: it yields no figure.
constexpr auto kWaitLimit = std::chrono::minutes(10);
// The limit for `objects` arrivals: kWaitLimit and 120 ms more per object, since a larger run takes longer
// (5,000 WorkerJobs with their pods were Ready after 606 s on the development machine).
std::chrono::milliseconds wait_limit_for(size_t objects);

using wo::testing::load_average;
using wo::testing::percentile;

// A figure over the rounds as JSON: median, min, max, and the samples in round order.
web::json::value summary(const std::vector<double>& samples);

// Runs f(i) for i in [0, n) on `threads` threads.
void parallel(int n, int threads, const std::function<void(int)>& f);

// Names by the time a watch first showed them in the state counted (as ADDED, as converged, ...).
class Arrivals {
 public:
  void record(const std::string& name);
  // Waits until `count` names arrived; throws, naming `what`, when wait_limit_for(count) passes first.
  void wait_for(size_t count, const std::string& what);
  size_t size() const;
  std::map<std::string, BenchClock::time_point> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, BenchClock::time_point> at_;
};

// Arrivals and the state an object must be in to count in them.
struct Counted {
  Arrivals& arrivals;
  std::function<bool(const web::json::value&)> counts;
};

// An informer of the bench's own on `resource` in ns, recording each object into every Arrivals whose
// `counts` accepts it (one watch for several states); started and synced (throws when it does not sync
// within 30 s).
std::unique_ptr<kube::Informer> watch_arrivals(kube::Client& client, const kube::ResourceRef& resource,
                                               const std::string& ns, std::vector<Counted> counted);

// Counts every object: for arrivals timed by their first appearance (ADDED).
bool any_object(const web::json::value& object);

// A WorkerJob Ready for its generation with at least `replicas` ready replicas.
bool ready_with(const web::json::value& workerjob, int replicas);

// The milliseconds from each name's start to its arrival, for the names that arrived.
std::vector<double> latencies_ms(const std::map<std::string, BenchClock::time_point>& started,
                                 const std::map<std::string, BenchClock::time_point>& arrived);

// The operator as a process watching ns with `concurrency` reconcilers, started, its caches synced (its
// /readyz answers), so that start-up is not part of a figure; throws with its log after 60 s. `binary`
// empty: this build's operator.
std::unique_ptr<e2e::OperatorProcess> start_operator(const std::string& ns, int concurrency,
                                                     const std::string& binary = "");

// Waits until the operator has nothing to do: its work queue empty, no reconcile running and no request
// made (its workqueue_depth and controller_runtime_active_workers read 0, and rest_client_requests_total
// stays the same, over two scrapes a second apart: events are written after their reconcile); throws
// after kWaitLimit.
void wait_operator_idle(const e2e::OperatorProcess& op);

// The operator's memory and CPU time. RSS and CPU come from its own process_* metrics; the peak, which no
// metric has, from /proc/PID/status (VmHWM: the highest RSS so far).
struct ProcessSample {
  double rss_mib = 0;
  double peak_rss_mib = 0;
  double cpu_seconds = 0;  // user + system
};
ProcessSample sample_operator(const e2e::OperatorProcess& op);

// Deletes the namespace and waits until it is gone (its objects collected), so that the next measurement
// does not share the cluster with the garbage collector; throws after kWaitLimit.
void delete_namespace_and_wait(const std::string& ns);

}  // namespace wo::bench
