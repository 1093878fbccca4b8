#include "api/tests/workerjob_json.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wo::api::testing {
namespace {

using web::json::value;

value string_map_json(const std::map<std::string, std::string>& m) {
  value out = value::object(true);  // std::map iterates in key order: deterministic
  for (const auto& [k, v] : m) out[k] = value::string(v);
  return out;
}

}  // namespace

web::json::value to_json(const WorkerJobSpec& spec) {
  value out = value::object(true);
  out["job"] = value::string(spec.job);
  if (!spec.image.empty()) out["image"] = value::string(spec.image);
  out["replicas"] = value::number(spec.replicas);
  out["paused"] = value::boolean(spec.paused);
  if (!spec.resources.requests.empty() || !spec.resources.limits.empty())
    out["resources"] = api::to_json(spec.resources);
  if (!spec.args.empty()) {
    std::vector<value> args;
    for (const auto& a : spec.args) args.push_back(value::string(a));
    out["args"] = value::array(std::move(args));
  }
  if (!spec.env.is_null()) out["env"] = spec.env;
  if (!spec.env_from.is_null()) out["envFrom"] = spec.env_from;
  if (!spec.config.is_null()) out["config"] = spec.config;
  const PodTemplateOptions& t = spec.template_;
  value tmpl = value::object(true);
  if (!t.labels.empty()) tmpl["labels"] = string_map_json(t.labels);
  if (!t.annotations.empty()) tmpl["annotations"] = string_map_json(t.annotations);
  if (!t.node_selector.empty()) tmpl["nodeSelector"] = string_map_json(t.node_selector);
  if (!t.tolerations.is_null()) tmpl["tolerations"] = t.tolerations;
  if (!t.affinity.is_null()) tmpl["affinity"] = t.affinity;
  if (!t.service_account_name.empty()) tmpl["serviceAccountName"] = value::string(t.service_account_name);
  if (!t.priority_class_name.empty()) tmpl["priorityClassName"] = value::string(t.priority_class_name);
  if (!t.image_pull_secrets.is_null()) tmpl["imagePullSecrets"] = t.image_pull_secrets;
  tmpl["terminationGracePeriodSeconds"] = value::number(t.termination_grace_period_seconds);
  out["template"] = tmpl;
  return out;
}

web::json::value to_json(const WorkerJob& job) {
  value out = value::object(true);
  out["apiVersion"] = value::string(std::string(kApiVersion));
  out["kind"] = value::string(std::string(kKind));
  value meta = value::object(true);
  meta["name"] = value::string(job.metadata.name);
  meta["namespace"] = value::string(job.metadata.namespace_);
  if (!job.metadata.uid.empty()) meta["uid"] = value::string(job.metadata.uid);
  if (job.metadata.generation != 0) meta["generation"] = value::number(job.metadata.generation);
  if (!job.metadata.resource_version.empty()) meta["resourceVersion"] = value::string(job.metadata.resource_version);
  if (!job.metadata.creation_timestamp.empty()) {
    meta["creationTimestamp"] = value::string(job.metadata.creation_timestamp);
  }
  if (!job.metadata.labels.empty()) meta["labels"] = string_map_json(job.metadata.labels);
  if (!job.metadata.annotations.empty()) meta["annotations"] = string_map_json(job.metadata.annotations);
  if (job.metadata.deletion_timestamp) meta["deletionTimestamp"] = value::string(*job.metadata.deletion_timestamp);
  out["metadata"] = meta;
  out["spec"] = to_json(job.spec);
  out["status"] = api::to_json(job.status);
  return out;
}

}  // namespace wo::api::testing
