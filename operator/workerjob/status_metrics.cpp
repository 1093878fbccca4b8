#include "workerjob/status_metrics.h"

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "kube/object.h"
#include "workerjob/cache.h"

namespace wo::workerjob {

namespace {

// (status, reason) of the Ready condition; ("Unknown", "") when there is none.
std::pair<std::string, std::string> ready_of(const web::json::value& workerjob) {
  const auto* conditions = kube::nested(workerjob, {"status", "conditions"});
  if (conditions != nullptr && conditions->is_array()) {
    for (const auto& c : conditions->as_array()) {
      if (kube::nested_string(c, {"type"}) != "Ready") continue;
      std::string status = kube::nested_string(c, {"status"});
      return {status.empty() ? "Unknown" : status, kube::nested_string(c, {"reason"})};
    }
  }
  return {"Unknown", ""};
}

// The Ready condition of each WorkerJob as of the resourceVersion it was read at. A cached WorkerJob's
// status is packed text (cache.h), and parsing every one at every scrape cost about 30 ms of CPU per 1,000
// WorkerJobs: with 5,000, the scrapes were most of an idle operator's CPU. Only a WorkerJob whose version
// changed since the last scrape is parsed again.
struct Reading {
  std::string version;
  std::pair<std::string, std::string> ready;  // (status, reason)
};
struct ReadyMemo {
  std::mutex mu;
  std::unordered_map<std::string, Reading> by_key;
};

}  // namespace

void register_status_metrics(metrics::Registry& registry, const kube::Store& workerjobs) {
  auto& family = registry.gauge("worker_operator_workerjobs",
                                "WorkerJobs in the operator's cache by their Ready condition's status and reason",
                                {"ready", "reason"});
  registry.on_collect([&family, &workerjobs, memo = std::make_shared<ReadyMemo>()] {
    std::map<std::vector<std::string>, double> counts;
    std::unordered_map<std::string, Reading> seen;
    std::lock_guard lock(memo->mu);
    for (const auto& object : workerjobs.list()) {
      std::string key = kube::object_key(*object), version = kube::meta_string(*object, "resourceVersion");
      const auto it = memo->by_key.find(key);
      const bool unchanged = !version.empty() && it != memo->by_key.end() && it->second.version == version;
      auto ready = unchanged ? it->second.ready : ready_of(unpacked(*object));
      counts[{ready.first, ready.second}] += 1;
      seen.emplace(std::move(key), Reading{std::move(version), std::move(ready)});
    }
    memo->by_key = std::move(seen);  // WorkerJobs gone are forgotten
    // A combination seen before and gone now reads 0, not its last count.
    family.for_each(
        [&counts](const std::vector<std::string>& labels, const metrics::Gauge&) { counts.try_emplace(labels, 0); });
    for (const auto& [labels, n] : counts) family.with(labels).set(n);
  });
}

}  // namespace wo::workerjob
