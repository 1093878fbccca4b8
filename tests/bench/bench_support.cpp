#include "bench_support.h"

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "kube/object.h"

namespace wo::bench {

using web::json::value;

value summary(const std::vector<double>& samples) {
  const testing::Summary s = testing::summarize(samples);
  value out = value::object(true);
  out["median"] = value::number(s.median);
  out["min"] = value::number(s.min);
  out["max"] = value::number(s.max);
  value list = value::array();
  for (size_t i = 0; i < s.samples.size(); ++i) list[i] = value::number(s.samples[i]);
  out["samples"] = list;
  return out;
}

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

void Arrivals::record(const std::string& name) {
  std::lock_guard l(mu_);
  if (at_.emplace(name, BenchClock::now()).second) cv_.notify_all();
}

std::chrono::milliseconds wait_limit_for(size_t objects) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(kWaitLimit) +
         std::chrono::milliseconds(120) * static_cast<std::int64_t>(objects);
}

void Arrivals::wait_for(size_t count, const std::string& what) {
  const auto limit = wait_limit_for(count);
  std::unique_lock l(mu_);
  if (!cv_.wait_for(l, limit, [&] { return at_.size() >= count; })) {
    throw std::runtime_error("only " + std::to_string(at_.size()) + " of " + std::to_string(count) + " " + what +
                             " within " +
                             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s");
  }
}

size_t Arrivals::size() const {
  std::lock_guard l(mu_);
  return at_.size();
}

std::map<std::string, BenchClock::time_point> Arrivals::snapshot() const {
  std::lock_guard l(mu_);
  return at_;
}

std::unique_ptr<kube::Informer> watch_arrivals(kube::Client& client, const kube::ResourceRef& resource,
                                               const std::string& ns, std::vector<Counted> counted) {
  kube::ReflectorOptions ro;
  ro.resource = resource;
  ro.namespace_ = ns;
  auto informer = std::make_unique<kube::Informer>(client, ro);
  auto record = [counted = std::move(counted)](const kube::ObjectPtr& o) {
    for (const auto& c : counted) {
      if (c.counts(*o)) c.arrivals.record(kube::meta_string(*o, "name"));
    }
  };
  informer->add_handlers({record, [record](const kube::ObjectPtr&, const kube::ObjectPtr& o) { record(o); }, nullptr});
  informer->start();
  if (!informer->wait_for_sync(std::chrono::seconds(30))) {
    throw std::runtime_error("the bench's own " + resource.plural + " watch did not sync within 30 s");
  }
  return informer;
}

bool any_object(const value&) {
  return true;
}

bool ready_with(const value& workerjob, int replicas) {
  const value gen = e2e::at(workerjob, "metadata.generation"), seen = e2e::at(workerjob, "status.observedGeneration");
  if (seen.is_null() || gen != seen) return false;
  if (replicas > 0) {
    const value ready = e2e::at(workerjob, "status.readyReplicas");
    if (!ready.is_integer() || ready.as_integer() < replicas) return false;
  }
  const value conditions = e2e::at(workerjob, "status.conditions");
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions.as_array()) {
    if (e2e::at(c, "type") == value::string("Ready")) return e2e::at(c, "status") == value::string("True");
  }
  return false;
}

std::vector<double> latencies_ms(const std::map<std::string, BenchClock::time_point>& started,
                                 const std::map<std::string, BenchClock::time_point>& arrived) {
  std::vector<double> out;
  for (const auto& [name, t] : started) {
    if (auto it = arrived.find(name); it != arrived.end()) {
      out.push_back(std::chrono::duration<double, std::milli>(it->second - t).count());
    }
  }
  return out;
}

std::unique_ptr<e2e::OperatorProcess> start_operator(const std::string& ns, int concurrency,
                                                     const std::string& binary) {
  const int health_port = e2e::free_loopback_port();
  auto op = std::make_unique<e2e::OperatorProcess>(
      ns,
      std::vector<std::string>{"--health-addr=127.0.0.1:" + std::to_string(health_port),
                               "--max-concurrent-reconciles=" + std::to_string(concurrency), "--log-level=info"},
      binary);
  op->start();
  const std::string url = "http://127.0.0.1:" + std::to_string(health_port) + "/readyz";
  if (!e2e::wait_until(
          [&] {
            if (op->exited()) throw std::runtime_error("the operator exited while starting:\n" + op->log_tail());
            return e2e::run({"curl", "-sf", url}).ok();
          },
          std::chrono::seconds(60), e2e::kPollInterval)) {
    throw std::runtime_error("the operator was not ready within 60 s:\n" + op->log_tail());
  }
  return op;
}

void wait_operator_idle(const e2e::OperatorProcess& op) {
  int idle_scrapes = 0;
  double requests_before = -1;
  const auto idle = [&] {
    const std::string text = op.metrics();
    const double requests = e2e::metric_sum(text, "rest_client_requests_total{");
    const bool now = e2e::metric_sum(text, "workqueue_depth{") == 0 &&
                     e2e::metric_sum(text, "controller_runtime_active_workers{") == 0 && requests == requests_before;
    requests_before = requests;
    idle_scrapes = now ? idle_scrapes + 1 : 0;
    return idle_scrapes >= 2;
  };
  if (!e2e::wait_until(idle, kWaitLimit, std::chrono::seconds(1))) {
    throw std::runtime_error("the operator was still reconciling after 10 min:\n" + op.log_tail());
  }
}

ProcessSample sample_operator(const e2e::OperatorProcess& op) {
  const std::string text = op.metrics();
  ProcessSample s;
  s.rss_mib = e2e::metric_sum(text, "process_resident_memory_bytes") / (1024.0 * 1024.0);
  s.cpu_seconds = e2e::metric_sum(text, "process_cpu_seconds_total");
  const std::string path = "/proc/" + std::to_string(op.pid()) + "/status";
  std::ifstream status(path);
  if (!status) throw std::runtime_error("cannot read " + path + ": the operator is gone");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_mib = std::stod(line.substr(6)) / 1024.0;
  }
  return s;
}

void delete_namespace_and_wait(const std::string& ns) {
  e2e::kubectl({"delete", "namespace", ns, "--wait=false", "--ignore-not-found"});
  if (!e2e::wait_until(
          [&] {
            return !e2e::kubectl({"get", "namespace", ns}).ok();
          },
          kWaitLimit, std::chrono::seconds(2))) {
    throw std::runtime_error("namespace " + ns + " was not deleted within 10 min");
  }
}

}  // namespace wo::bench
