#include "workerjob/controller.h"

#include <algorithm>

#include "kube/object.h"
#include "kube/time.h"
#include "wo/log.h"
#include "wo/text.h"
#include "workerjob/cache.h"
#include "workerjob/drift.h"

namespace wo::workerjob {
namespace {

using web::json::value;

// While a pod is failing, look again after this long even without an event: the failure window of a
// container that runs again between crashes ends without the API server telling anyone.
constexpr std::chrono::seconds kDegradedRecheck{30};
// A write of the operator's own that the cache has not shown yet: look again after this long even without
// an event (its watch event normally comes within milliseconds; the object may also have been deleted).
constexpr std::chrono::seconds kAwaitingCacheRecheck{2};
// How long a created object may take to reach the cache before it is taken for deleted and created again.
constexpr std::chrono::seconds kCreationInFlight{10};
// Condition messages are kept readable (the API allows 32 KiB).
constexpr std::size_t kMaxMessage = 4096;

bool owned_by(const value& object, const std::string& uid) {
  const auto owner = kube::controller_of(object);
  return owner && owner->uid == uid;
}

const api::Condition* find_condition(const api::WorkerJobStatus& st, std::string_view type) {
  for (const auto& c : st.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

// An answer that retrying the same request cannot change: the object is invalid, too large, or
// forbidden (RBAC, a quota, an admission policy). 404 (the namespace is going away), 408, 409 and 429 are
// transient, and the controller retries them as errors.
bool is_rejection(const kube::ApiError& e) {
  const int code = e.code();
  return code >= 400 && code < 500 && code != 401 && code != 404 && code != 408 && code != 409 && code != 429;
}

// While the controller is blocked (a name conflict, a rejected apply), look again after a delay that
// grows with how long it has been blocked: seconds at first, at most five minutes, so a conflict cleared
// by hand (the foreign object deleted) is noticed although no watched object changes.
std::chrono::milliseconds blocked_recheck(const api::WorkerJobStatus& status) {
  constexpr std::chrono::seconds kMin{2}, kMax{300};
  std::chrono::seconds blocked_for{0};
  if (const api::Condition* d = find_condition(status, "Degraded")) {
    if (const auto since = kube::parse_time(d->last_transition_time)) {
      blocked_for = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *since);
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::clamp(blocked_for / 2, kMin, kMax));
}

// metadata.generation, or 0 (a kind that has none).
std::int64_t generation_of(const value& object) {
  const value* g = kube::nested(object, {"metadata", "generation"});
  return g != nullptr && g->is_integer() ? g->as_number().to_int64() : 0;
}

// The key of an object's entry in the reconciler's memos: "deployments/ns/name".
std::string memo_key(const kube::ResourceRef& resource, const std::string& ns, const std::string& name) {
  return resource.plural + "/" + ns + "/" + name;
}

std::string now_text() {
  return kube::format_time(std::chrono::system_clock::now());
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

const kube::ResourceRef& replicasets_resource() {
  static const kube::ResourceRef r{"apps", "v1", "replicasets", true, "ReplicaSet"};
  return r;
}

std::vector<std::string> workerjob_key_from_labels(const value& object) {
  const std::string instance = kube::nested_string(object, {"metadata", "labels", "app.kubernetes.io/instance"});
  if (instance.empty()) return {};
  return {kube::meta_string(object, "namespace") + "/" + instance};
}

WorkerJobReconciler::WorkerJobReconciler(kube::Client& client, Caches caches, runtime::EventRecorder& events,
                                         RenderOptions options)
    : client_(client), caches_(caches), events_(events), options_(std::move(options)) {}

value WorkerJobReconciler::live_object(const kube::Store& cache, const std::string& ns, const std::string& name) {
  // The Deployment and ConfigMap caches hold every object of the watched namespaces, someone else's as a
  // stub (cache.h): one that is not there does not exist, as far as the informer has seen. No GET.
  if (const auto cached = cache.get(ns + "/" + name)) return unpacked(*cached);
  return value::null();
}

bool WorkerJobReconciler::write_not_cached_yet(const ObjectMemo& memo, const value& live) {
  if (live.is_null()) {
    // A creation whose watch event has not arrived: another informer's event (the new ReplicaSet's) can
    // come first.
    return memo.replaced_version.empty() && !memo.written_uid.empty() &&
           std::chrono::steady_clock::now() - memo.written_at < kCreationInFlight;
  }
  // The very version the write replaced, or one of a lower generation than the write made (written by
  // others before the write, delivered after it).
  return kube::meta_string(live, "resourceVersion") == memo.replaced_version ||
         (memo.written_generation > 0 && kube::meta_string(live, "uid") == memo.written_uid &&
          generation_of(live) < memo.written_generation);
}

std::optional<Problem> WorkerJobReconciler::apply_if_needed(const kube::ResourceRef& resource,
                                                            const api::WorkerJob& job, const value& live,
                                                            const value& desired, const std::string& name,
                                                            AppliedObject& out) {
  const std::string& ns = job.metadata.namespace_;
  const std::string fingerprint = fingerprint_of(desired);
  const std::string live_version = kube::meta_string(live, "resourceVersion");
  bool normalised = false;
  {
    std::lock_guard lock(mu_);
    const auto it = memos_.find(memo_key(resource, ns, name));
    if (it != memos_.end()) {
      const ObjectMemo& memo = it->second;
      normalised = memo.normalised_fingerprint == fingerprint;
      if (memo.written_fingerprint == fingerprint && write_not_cached_yet(memo, live)) {
        out.live = live;
        out.awaiting_cache = true;
        return std::nullopt;
      }
    }
  }
  out.live = live;
  out.need = apply_need(live, desired, !normalised);
  if (out.need == ApplyNeed::kNone) return std::nullopt;

  value applied;
  try {
    applied = client_.apply(resource, ns, name, desired, std::string(kFieldManager));
  } catch (const kube::ApiError& e) {
    if (!is_rejection(e)) throw;  // transient: the controller retries with backoff
    log::warn("apply rejected", {{"namespace", ns},
                                 {"name", name},
                                 {"kind", resource.kind},
                                 {"code", e.code()},
                                 {"reason", e.reason()},
                                 {"error", e.message()}});
    return Problem{"ApplyRejected", "the API server rejected " + resource.kind + " " + ns + "/" + name + " (" +
                                        std::to_string(e.code()) + (e.reason().empty() ? "" : " " + e.reason()) +
                                        "): " + e.message()};
  }
  // A server-side apply that changed nothing leaves the resourceVersion as it was: not a write.
  out.written = live.is_null() || kube::meta_string(applied, "resourceVersion") != live_version;
  out.live = applied;
  // A server that rewrites a value the renderer sets in a way contains() does not know would make every
  // reconcile look like a hand edit; from now on only the fingerprint decides for this rendering.
  const bool holds_rendering = contains(applied, desired);
  bool newly_normalised = false;
  {
    std::lock_guard lock(mu_);
    ObjectMemo& memo = memos_[memo_key(resource, ns, name)];
    newly_normalised = !holds_rendering && memo.normalised_fingerprint != fingerprint;
    memo.normalised_fingerprint = holds_rendering ? "" : fingerprint;
    if (out.written) {
      memo.written_fingerprint = fingerprint;
      memo.replaced_version = live_version;
      memo.written_uid = kube::meta_string(applied, "uid");
      memo.written_generation = generation_of(applied);
      memo.written_at = std::chrono::steady_clock::now();
    }
  }
  if (newly_normalised) {
    log::warn("the API server normalises a field of the rendered object; hand edits of it are not detected",
              {{"namespace", ns}, {"name", name}, {"kind", resource.kind}});
  }
  if (out.written) {
    log::info("applied", {{"namespace", ns},
                          {"name", name},
                          {"kind", resource.kind},
                          {"job", job.spec.job},
                          {"because", std::string(to_string(out.need))}});
  }
  return std::nullopt;
}

WorkerJobReconciler::Applied WorkerJobReconciler::apply_desired(const api::WorkerJob& job, const value& raw,
                                                                const Rendered& desired) {
  const std::string& ns = job.metadata.namespace_;
  const std::string& name = job.metadata.name;
  const std::string& uid = job.metadata.uid;
  const std::string cm_name = config_map_name(name);

  const value live_deployment = live_object(caches_.deployments, ns, name);
  if (!live_deployment.is_null() && !owned_by(live_deployment, uid)) {
    return {value::null(), Problem{"NameConflict", "Deployment " + ns + "/" + name +
                                                       " exists and is not controlled by this WorkerJob; "
                                                       "rename the WorkerJob or remove the Deployment"}};
  }
  if (desired.config_map) {
    const value live_cm = live_object(caches_.configmaps, ns, cm_name);
    if (!live_cm.is_null() && !owned_by(live_cm, uid)) {
      return {live_deployment, Problem{"NameConflict", "ConfigMap " + ns + "/" + cm_name +
                                                           " exists and is not controlled by this WorkerJob; "
                                                           "rename the WorkerJob or remove the ConfigMap"}};
    }
    AppliedObject cm;
    if (auto rejected = apply_if_needed(configmaps_resource(), job, live_cm, *desired.config_map, cm_name, cm)) {
      return {live_deployment, std::move(rejected)};
    }
  }

  AppliedObject deployment;
  if (auto rejected =
          apply_if_needed(deployments_resource(), job, live_deployment, desired.deployment, name, deployment)) {
    return {live_deployment, std::move(rejected)};
  }
  if (deployment.written) {
    if (deployment.need == ApplyNeed::kMissing) {
      events_.record(raw, "Normal", "DeploymentCreated", "Created Deployment " + name);
    } else if (deployment.need == ApplyNeed::kDrifted) {
      events_.record(raw, "Normal", "DriftReverted",
                     "Put back fields of Deployment " + name + " that were changed outside this WorkerJob");
    } else {
      events_.record(raw, "Normal", "DeploymentUpdated", "Updated Deployment " + name + " to the WorkerJob's spec");
    }
  }

  // spec.config removed: the ConfigMap goes too (after the Deployment stopped mounting it), if this
  // WorkerJob controls it (the cache holds every ConfigMap, with its owners).
  if (!desired.config_map) {
    const auto stale = caches_.configmaps.get(ns + "/" + cm_name);
    if (stale && owned_by(*stale, uid)) {
      kube::DeleteOptions options;
      options.precondition_uid = kube::meta_string(*stale, "uid");
      try {
        client_.remove(configmaps_resource(), ns, cm_name, options);
        log::info("deleted config map", {{"namespace", ns}, {"name", name}, {"configmap", cm_name}});
      } catch (const kube::ApiError& e) {
        if (!e.is_not_found() && !e.is_conflict()) throw;
      }
    }
  }
  return {deployment.live, std::nullopt, deployment.awaiting_cache};
}

std::vector<value> WorkerJobReconciler::pods_of(const value& deployment) const {
  std::vector<value> pods;
  const std::string index(kByControllerIndex);
  for (const auto& rs : caches_.replicasets.by_index(index, kube::meta_string(deployment, "uid"))) {
    for (const auto& pod : caches_.pods.by_index(index, kube::meta_string(*rs, "uid"))) pods.push_back(*pod);
  }
  return pods;
}

void WorkerJobReconciler::adopt_written_status(api::WorkerJob& job) {
  std::lock_guard lock(mu_);
  const auto it = status_memos_.find(job.metadata.namespace_ + "/" + job.metadata.name);
  if (it == status_memos_.end()) return;
  if (it->second.replaced_version == job.metadata.resource_version) {
    job.status = it->second.written;
  } else {
    status_memos_.erase(it);  // the cache has caught up with the write
  }
}

void WorkerJobReconciler::write_status(const api::WorkerJob& job, const value& raw,
                                       const api::WorkerJobStatus& status) {
  value next = api::to_json(status);
  // A merge patch keeps what it does not mention: a field the new status no longer has (the Deployment
  // of a conflicting name, a replica count of zero) is written as null, so it is removed. The stored
  // status is the cached one, or the one last written (job.status) when the cache has not caught up.
  for (const value& stored : {raw.has_field("status") ? raw.at("status") : value::null(), api::to_json(job.status)}) {
    if (!stored.is_object()) continue;
    for (const auto& [key, unused] : stored.as_object()) {
      if (!next.has_field(key)) next[key] = value::null();
    }
  }
  value patch = value::object(true);
  patch["status"] = next;
  client_.merge_patch(workerjobs_resource(), job.metadata.namespace_, job.metadata.name, patch, "status");
  std::lock_guard lock(mu_);
  status_memos_[job.metadata.namespace_ + "/" + job.metadata.name] = {job.metadata.resource_version, status};
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
    c["message"] = value::string(text::clean(message, kMaxMessage));
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
  events_.record(raw, "Warning", reason, message);
  return {};
}

runtime::Result WorkerJobReconciler::reconcile(const runtime::Request& request, std::stop_token) {
  const kube::ObjectPtr cached = caches_.workerjobs.get(request.key());
  if (!cached) {  // deleted: the garbage collector removes what it owned
    std::lock_guard lock(mu_);
    memos_.erase(memo_key(deployments_resource(), request.namespace_, request.name));
    memos_.erase(memo_key(configmaps_resource(), request.namespace_, config_map_name(request.name)));
    status_memos_.erase(request.key());
    return {};
  }
  if (cached->has_field("metadata") && cached->at("metadata").has_field("deletionTimestamp")) return {};
  const value raw = unpacked(*cached);

  auto parsed = api::parse_workerjob(raw);
  if (!parsed.ok()) return report_invalid(raw, "InvalidSpec", parsed.error_text());
  api::WorkerJob& job = *parsed.value;
  adopt_written_status(job);
  const auto rendered = render(job, options_);
  if (!rendered.ok()) return report_invalid(raw, "InvalidSpec", rendered.error_text());

  // A Deployment written in this reconcile is judged from the write's answer, and the status written at
  // once: its observedGeneration tells the user the spec was acted on, without waiting for the Deployment
  // controller (whose report brings an event and the next status).
  const Applied applied = apply_desired(job, raw, *rendered.value);
  if (applied.deployment_awaiting_cache) {
    // Written by an earlier reconcile, which wrote the status too; the cache still holds an older version.
    return {std::chrono::duration_cast<std::chrono::milliseconds>(kAwaitingCacheRecheck)};
  }

  Observed observed;
  observed.blocked = applied.blocked;
  if (!applied.deployment.is_null()) {
    observed.deployment = &applied.deployment;
    observed.pods = pods_of(applied.deployment);
  }
  const api::WorkerJobStatus status = derive_status(job, observed, now_text());
  if (status_changed(job.status, status)) {
    write_status(job, raw, status);
    record_transitions(raw, job.status, status);
    const api::Condition* ready = find_condition(status, "Ready");
    log::info("status updated", {{"namespace", job.metadata.namespace_},
                                 {"name", job.metadata.name},
                                 {"job", job.spec.job},
                                 {"ready", status.ready},
                                 {"reason", ready != nullptr ? ready->reason : ""}});
  }
  if (applied.blocked) return {blocked_recheck(status), false};
  const api::Condition* degraded = find_condition(status, "Degraded");
  if (degraded != nullptr && degraded->status == "True") {
    return {std::chrono::duration_cast<std::chrono::milliseconds>(kDegradedRecheck), false};
  }
  return {};
}

}  // namespace wo::workerjob
