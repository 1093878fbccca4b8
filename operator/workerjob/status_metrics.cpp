#include "workerjob/status_metrics.h"

#include <map>
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

}  // namespace

void register_status_metrics(metrics::Registry& registry, const kube::Store& workerjobs) {
  auto& family = registry.gauge("worker_operator_workerjobs",
                                "WorkerJobs in the operator's cache by their Ready condition's status and reason",
                                {"ready", "reason"});
  registry.on_collect([&family, &workerjobs] {
    std::map<std::vector<std::string>, double> counts;
    for (const auto& object : workerjobs.list()) {
      auto [status, reason] = ready_of(unpacked(*object));
      counts[{std::move(status), std::move(reason)}] += 1;
    }
    // A combination seen before and gone now reads 0, not its last count.
    family.for_each(
        [&counts](const std::vector<std::string>& labels, const metrics::Gauge&) { counts.try_emplace(labels, 0); });
    for (const auto& [labels, n] : counts) family.with(labels).set(n);
  });
}

}  // namespace wo::workerjob
