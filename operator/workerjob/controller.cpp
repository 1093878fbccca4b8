#include "workerjob/controller.h"

#include "wo/log.h"
#include "workerjob/drift.h"

namespace wo::workerjob {
namespace {

using web::json::value;

// While a pod is failing, look again after this long even without an event: the failure window of a
// container that runs again between crashes ends without the API server telling anyone.
constexpr std::chrono::seconds kDegradedRecheck{30};
// After writing the Deployment, its status is stale until the Deployment controller has seen the change
// (milliseconds later, which brings an event and another reconcile). A status derived now would be
// overwritten at once, so it is written then instead; this delay only matters if no event comes.
constexpr std::chrono::seconds kStatusAfterWrite{2};

bool owned_by(const value& object, const std::string& uid) {
  if (!object.has_field("metadata") || !object.at("metadata").has_field("ownerReferences")) return false;
  const value& refs = object.at("metadata").at("ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& ref : refs.as_array()) {
    if (ref.has_field("uid") && ref.at("uid").is_string() && ref.at("uid").as_string() == uid &&
        ref.has_field("controller") && ref.at("controller").is_boolean() && ref.at("controller").as_bool()) {
      return true;
    }
  }
  return false;
}

const api::Condition* find_condition(const api::WorkerJobStatus& st, std::string_view type) {
  for (const auto& c : st.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::string now_text() {
  return format_time(std::chrono::system_clock::now());
}

}  // namespace

const kube::ResourceRef& workerjobs_resource() {
  static const kube::ResourceRef r{"worker.dev", "v1alpha1", "workerjobs", true, "WorkerJob"};
  return r;
}
const kube::ResourceRef& deployments_resource() {
  static const kube::ResourceRef r{"apps", "v1", "deployments", true, "Deployment"};
  return r;
}
const kube::ResourceRef& configmaps_resource() {
  static const kube::ResourceRef r{"", "v1", "configmaps", true, "ConfigMap"};
  return r;
}
const kube::ResourceRef& pods_resource() {
  static const kube::ResourceRef r{"", "v1", "pods", true, "Pod"};
  return r;
}

kube::IndexFunc index_pods_by_workerjob() {
  return [](const value& pod) -> std::vector<std::string> {
    if (!pod.has_field("metadata")) return {};
    const value& meta = pod.at("metadata");
    if (!meta.has_field("labels") || !meta.at("labels").has_field("app.kubernetes.io/instance")) return {};
    const value& instance = meta.at("labels").at("app.kubernetes.io/instance");
    if (!instance.is_string()) return {};
    return {kube::meta_string(pod, "namespace") + "/" + instance.as_string()};
  };
}

WorkerJobReconciler::WorkerJobReconciler(kube::Client& client, Caches caches, runtime::EventRecorder& events,
                                         RenderOptions options)
    : client_(client), caches_(caches), events_(events), options_(std::move(options)) {}

value WorkerJobReconciler::live_object(const kube::ResourceRef& resource, const kube::Store& cache,
                                       const std::string& ns, const std::string& name) {
  if (const auto cached = cache.get(ns + "/" + name)) return *cached;
  // Not in the cache: either absent, or present without our label (someone else's object, or ours
  // with the label edited away). Only the API server can tell.
  try {
    return client_.get(resource, ns, name);
  } catch (const kube::ApiError& e) {
    if (e.is_not_found()) return value::null();
    throw;
  }
}

WorkerJobReconciler::Applied WorkerJobReconciler::apply_desired(const api::WorkerJob& job, const value& raw,
                                                                const Rendered& desired) {
  const std::string& ns = job.metadata.namespace_;
  const std::string& name = job.metadata.name;
  const std::string& uid = job.metadata.uid;

  const value live_deployment = live_object(deployments_resource(), caches_.deployments, ns, name);
  if (!live_deployment.is_null() && !owned_by(live_deployment, uid)) {
    return {value::null(), Problem{"NameConflict", "Deployment " + ns + "/" + name +
                                                       " exists and is not controlled by this WorkerJob; "
                                                       "rename the WorkerJob or remove the Deployment"}};
  }
  if (desired.config_map) {
    const std::string cm_name = config_map_name(name);
    const value live_cm = live_object(configmaps_resource(), caches_.configmaps, ns, cm_name);
    if (!live_cm.is_null() && !owned_by(live_cm, uid)) {
      return {value::null(), Problem{"NameConflict", "ConfigMap " + ns + "/" + cm_name +
                                                         " exists and is not controlled by this WorkerJob"}};
    }
    if (live_cm.is_null() || !contains(live_cm, *desired.config_map)) {
      client_.apply(configmaps_resource(), ns, cm_name, *desired.config_map, std::string(kFieldManager));
      log::info("applied config map",
                {{"namespace", ns}, {"name", name}, {"job", job.spec.job}, {"configmap", cm_name}});
    }
  }

  if (!live_deployment.is_null() && contains(live_deployment, desired.deployment)) return {live_deployment, {}};

  const value applied = client_.apply(deployments_resource(), ns, name, desired.deployment, std::string(kFieldManager));
  if (live_deployment.is_null()) {
    log::info("created deployment", {{"namespace", ns}, {"name", name}, {"job", job.spec.job}});
    events_.record(raw, "Normal", "DeploymentCreated", "Created Deployment " + name);
  } else {
    log::info("updated deployment", {{"namespace", ns}, {"name", name}, {"job", job.spec.job}});
    events_.record(raw, "Normal", "DeploymentUpdated", "Updated Deployment " + name + " to the desired state");
  }
  return {applied, {}, true};
}

void WorkerJobReconciler::write_status(const api::WorkerJob& job, const api::WorkerJobStatus& status) {
  value patch = value::object(true);
  patch["status"] = api::to_json(status);
  client_.merge_patch(workerjobs_resource(), job.metadata.namespace_, job.metadata.name, patch, "status");
}

void WorkerJobReconciler::record_transitions(const value& raw, const api::WorkerJobStatus& before,
                                             const api::WorkerJobStatus& after) {
  const api::Condition* was = find_condition(before, "Degraded");
  const api::Condition* now = find_condition(after, "Degraded");
  if (now == nullptr) return;
  const bool was_degraded = was != nullptr && was->status == "True";
  if (now->status == "True" && (!was_degraded || was->reason != now->reason)) {
    events_.record(raw, "Warning", now->reason, now->message);
  } else if (now->status == "False" && was_degraded) {
    events_.record(raw, "Normal", "Recovered", "No pod of this job is failing any more (was " + was->reason + ")");
  }
}

runtime::Result WorkerJobReconciler::report_invalid(const value& raw, const std::string& reason,
                                                    const std::string& message) {
  // The object could not be understood, so write a status from its raw metadata only.
  const std::string ns = kube::meta_string(raw, "namespace"), name = kube::meta_string(raw, "name");
  std::int64_t generation = 0;
  if (raw.has_field("metadata") && raw.at("metadata").has_field("generation") &&
      raw.at("metadata").at("generation").is_integer()) {
    generation = raw.at("metadata").at("generation").as_number().to_int64();
  }
  log::warn("workerjob is invalid", {{"namespace", ns}, {"name", name}, {"reason", reason}, {"error", message}});
  const std::string stamp = now_text();
  value conditions = value::array();
  int i = 0;
  for (const auto& [type, status] : {std::pair{"Ready", "False"}, {"Progressing", "False"}, {"Degraded", "True"}}) {
    value c = value::object(true);
    c["type"] = value::string(type);
    c["status"] = value::string(status);
    c["observedGeneration"] = value::number(generation);
    c["lastTransitionTime"] = value::string(stamp);
    c["reason"] = value::string(reason);
    c["message"] = value::string(message.substr(0, 4096));
    conditions[i++] = c;
  }
  // Skip the write when the stored status already says exactly this.
  if (raw.has_field("status") && raw.at("status").has_field("conditions")) {
    const value& old = raw.at("status").at("conditions");
    bool same = old.is_array() && old.size() == conditions.size() && raw.at("status").has_field("observedGeneration") &&
                raw.at("status").at("observedGeneration").is_integer() &&
                raw.at("status").at("observedGeneration").as_number().to_int64() == generation;
    for (size_t k = 0; same && k < old.size(); ++k) {
      same = old.at(k).has_field("reason") && old.at(k).at("reason") == conditions.at(k).at("reason") &&
             old.at(k).has_field("message") && old.at(k).at("message") == conditions.at(k).at("message") &&
             old.at(k).has_field("status") && old.at(k).at("status") == conditions.at(k).at("status");
    }
    if (same) return {};
  }
  value patch = value::object(true);
  patch["status"] = value::object(true);
  patch["status"]["observedGeneration"] = value::number(generation);
  patch["status"]["conditions"] = conditions;
  client_.merge_patch(workerjobs_resource(), ns, name, patch, "status");
  events_.record(raw, "Warning", reason, message.substr(0, 1024));
  return {};
}

runtime::Result WorkerJobReconciler::reconcile(const runtime::Request& request, std::stop_token) {
  const kube::ObjectPtr raw = caches_.workerjobs.get(request.key());
  if (!raw) return {};  // deleted: the garbage collector removes what it owned
  if (raw->has_field("metadata") && raw->at("metadata").has_field("deletionTimestamp")) return {};

  const auto parsed = api::parse_workerjob(*raw);
  if (!parsed.ok()) return report_invalid(*raw, "InvalidSpec", parsed.error_text());
  const api::WorkerJob& job = *parsed.value;
  const auto rendered = render(job, options_);
  if (!rendered.ok()) return report_invalid(*raw, "InvalidSpec", rendered.error_text());

  const Applied applied = apply_desired(job, *raw, *rendered.value);
  if (applied.deployment_written) return {std::chrono::duration_cast<std::chrono::milliseconds>(kStatusAfterWrite)};

  Observed observed;
  observed.blocked = applied.blocked;
  if (!applied.blocked) {
    observed.deployment = &applied.deployment;
    for (const auto& pod : caches_.pods.by_index(std::string(kPodsByWorkerJobIndex), request.key())) {
      observed.pods.push_back(*pod);
    }
  }
  const api::WorkerJobStatus status = derive_status(job, observed, now_text());
  if (status_changed(job.status, status)) {
    write_status(job, status);
    record_transitions(*raw, job.status, status);
    const api::Condition* ready = find_condition(status, "Ready");
    log::info("status updated", {{"namespace", job.metadata.namespace_},
                                 {"name", job.metadata.name},
                                 {"job", job.spec.job},
                                 {"ready", status.ready},
                                 {"reason", ready != nullptr ? ready->reason : ""}});
  }
  const api::Condition* degraded = find_condition(status, "Degraded");
  if (degraded != nullptr && degraded->status == "True" && !applied.blocked) {
    return {std::chrono::duration_cast<std::chrono::milliseconds>(kDegradedRecheck), false};
  }
  return {};
}

}  // namespace wo::workerjob
