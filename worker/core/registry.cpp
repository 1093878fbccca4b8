#include "core/registry.h"

#include <algorithm>

namespace wo::worker {

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

void Registry::add(JobDefinition job) {
  if (job.name.empty() || !job.build) {
    errors_.push_back("a job registered without a name or build function (description: \"" + job.description + "\")");
    return;
  }
  if (find(job.name) != nullptr) {
    errors_.push_back("job \"" + job.name + "\" registered twice");
    return;
  }
  jobs_.push_back(std::move(job));
}

const JobDefinition* Registry::find(const std::string& name) const {
  for (const auto& j : jobs_) {
    if (j.name == name) return &j;
  }
  return nullptr;
}

std::vector<const JobDefinition*> Registry::all() const {
  std::vector<const JobDefinition*> out;
  for (const auto& j : jobs_) out.push_back(&j);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  return out;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto* j : all()) out.push_back(j->name);
  return out;
}

}  // namespace wo::worker
