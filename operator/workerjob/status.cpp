#include "workerjob/status.h"

#include <algorithm>
#include "kube/time.h"
#include "wo/text.h"
#include "workerjob/render.h"

namespace wo::workerjob {
namespace {

using kube::format_time;
using kube::parse_time;
using web::json::value;

// Safe readers: Kubernetes objects from the cache are trusted in shape but not in presence.
const value* field(const value& v, const char* key) {
  if (!v.is_object()) return nullptr;
  const auto& obj = v.as_object();
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

const value* path(const value& v, std::initializer_list<const char*> keys) {
  const value* cur = &v;
  for (const char* k : keys) {
    cur = field(*cur, k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string str(const value* v) {
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

std::int64_t num(const value* v) {
  return v != nullptr && v->is_number() && v->as_number().is_int64() ? v->as_number().to_int64() : 0;
}

// Failure reasons by severity: a configuration the worker refuses is the most useful thing to show,
// then a memory kill, then crashes, then pods that never start.
int severity_of(std::string_view reason) {
  if (reason == "UnknownJob" || reason == "InvalidConfig") return 60;
  if (reason == "OOMKilled") return 50;
  if (reason == "CrashLoopBackOff") return 40;
  if (reason == "CreateContainerConfigError") return 35;
  if (reason == "ImagePullBackOff") return 30;
  if (reason == "Unschedulable") return 20;
  return 10;
}

// Whether f is worse than the worst failure so far: more severe, or as severe and more recent.
bool worse(const PodFailure& f, const std::optional<PodFailure>& worst) {
  return !worst || f.severity > worst->severity || (f.severity == worst->severity && f.time > worst->time);
}

std::string first_line(std::string_view s) {
  const auto nl = s.find('\n');
  return std::string(s.substr(0, nl));
}

// Message text bounded for a condition (the API allows 32 KiB; a status should stay readable), as valid
// UTF-8 cut on a character boundary: the API server would replace a split character, and the status
// read back would never equal the one derived again.
std::string bounded(const std::string& s, size_t max = 1024) {
  return text::clean(s, max);
}

// Classifies a terminated container state: {reason, message}, or empty reason when it exited cleanly.
Problem classify_termination(const value& terminated) {
  const std::string reason = str(field(terminated, "reason"));
  const std::string message = str(field(terminated, "message"));
  const std::int64_t exit_code = num(field(terminated, "exitCode"));
  if (reason == "OOMKilled") {
    return {"OOMKilled",
            "container was killed for exceeding its memory limit (exit code " + std::to_string(exit_code) + ")"};
  }
  // The worker writes "<Reason>: <message>" to its termination log for configuration errors.
  for (const auto& known : worker_termination_reasons()) {
    if (message.rfind(known + ":", 0) == 0) {
      std::string rest = first_line(std::string_view(message).substr(known.size() + 1));
      rest.erase(0, rest.find_first_not_of(' '));
      return {known, bounded(rest)};
    }
  }
  if (exit_code == 0 && reason == "Completed") return {};
  std::string text = "container exited with code " + std::to_string(exit_code);
  if (!reason.empty()) text += " (" + reason + ")";
  if (!message.empty()) text += ": " + first_line(message);
  return {"CrashLoopBackOff", bounded(text)};
}

std::optional<PodFailure> container_failure(const value& status, const std::string& pod_name,
                                            std::chrono::system_clock::time_point now) {
  const value* waiting = path(status, {"state", "waiting"});
  const value* terminated_now = path(status, {"state", "terminated"});
  const value* last_terminated = path(status, {"lastState", "terminated"});
  const std::string waiting_reason = waiting != nullptr ? str(field(*waiting, "reason")) : "";

  auto failure = [&](Problem p, std::string time) {
    const auto severity = severity_of(p.reason);
    PodFailure f{std::move(p.reason), std::move(p.message), pod_name, std::move(time), severity};
    return std::optional<PodFailure>(std::move(f));
  };

  if (waiting_reason == "ImagePullBackOff" || waiting_reason == "ErrImagePull" ||
      waiting_reason == "InvalidImageName" || waiting_reason == "ErrImageNeverPull") {
    return failure({"ImagePullBackOff", bounded(str(field(*waiting, "message")))}, format_time(now));
  }
  if (waiting_reason == "CreateContainerConfigError" || waiting_reason == "CreateContainerError") {
    return failure({"CreateContainerConfigError", bounded(str(field(*waiting, "message")))}, format_time(now));
  }
  if (terminated_now != nullptr) {
    Problem p = classify_termination(*terminated_now);
    if (!p.reason.empty()) return failure(std::move(p), str(field(*terminated_now, "finishedAt")));
  }
  if (last_terminated != nullptr) {
    Problem p = classify_termination(*last_terminated);
    if (p.reason.empty()) return std::nullopt;
    const std::string finished = str(field(*last_terminated, "finishedAt"));
    const auto finished_at = parse_time(finished);
    const bool in_backoff = waiting_reason == "CrashLoopBackOff";
    const bool recent = finished_at && now - *finished_at <= kRecentFailureWindow;
    if (in_backoff || recent) return failure(std::move(p), finished);
  }
  return std::nullopt;
}

api::Condition make_condition(std::string type, bool status, std::string reason, std::string message) {
  api::Condition c;
  c.type = std::move(type);
  c.status = status ? "True" : "False";
  c.reason = std::move(reason);
  c.message = std::move(message);
  return c;
}

const value* deployment_condition(const value& deployment, std::string_view type) {
  const value* conditions = path(deployment, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return nullptr;
  for (const auto& c : conditions->as_array()) {
    if (str(field(c, "type")) == type) return &c;
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& worker_termination_reasons() {
  static const std::vector<std::string> reasons = {"UnknownJob", "InvalidConfig"};
  return reasons;
}

std::optional<PodFailure> pod_failure(const value& pod, std::string_view now_text) {
  const auto now = parse_time(now_text).value_or(std::chrono::system_clock::now());
  const std::string name = str(path(pod, {"metadata", "name"}));
  std::optional<PodFailure> worst;
  auto consider = [&](std::optional<PodFailure> f) {
    if (f && worse(*f, worst)) worst = std::move(f);
  };
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    const value* statuses = path(pod, {"status", list});
    if (statuses == nullptr || !statuses->is_array()) continue;
    for (const auto& s : statuses->as_array()) consider(container_failure(s, name, now));
  }
  if (!worst) {
    const value* conditions = path(pod, {"status", "conditions"});
    if (conditions != nullptr && conditions->is_array()) {
      for (const auto& c : conditions->as_array()) {
        if (str(field(c, "type")) == "PodScheduled" && str(field(c, "status")) == "False" &&
            str(field(c, "reason")) == "Unschedulable") {
          std::string time = str(field(c, "lastTransitionTime"));
          consider(PodFailure{"Unschedulable", bounded(str(field(c, "message"))), name,
                              time.empty() ? format_time(now) : time, severity_of("Unschedulable")});
        }
      }
    }
  }
  return worst;
}

namespace {

// The worst failure among the pods that are not terminating.
std::optional<PodFailure> worst_failure(const std::vector<value>& pods, std::string_view now) {
  std::optional<PodFailure> worst;
  for (const auto& pod : pods) {
    if (path(pod, {"metadata", "deletionTimestamp"}) != nullptr) continue;  // terminating: no longer ours to judge
    auto f = pod_failure(pod, now);
    if (f && worse(*f, worst)) worst = std::move(f);
  }
  return worst;
}

// Where the Deployment's rollout stands, for the Progressing condition.
struct Rollout {
  bool rolled_out = false;  // every desired replica runs the current template and is available
  bool progressing = true;
  std::string reason = "Creating";
  std::string message = "the Deployment is being created";
};

// Reads the Deployment, when it exists, into st (its name and replica counts) and into its rollout.
Rollout observe_deployment(const value* deployment, std::int32_t desired, api::WorkerJobStatus& st) {
  Rollout r;
  if (deployment == nullptr) return r;
  const value& d = *deployment;
  st.deployment = str(path(d, {"metadata", "name"}));
  st.replicas = static_cast<std::int32_t>(num(path(d, {"status", "replicas"})));
  st.ready_replicas = static_cast<std::int32_t>(num(path(d, {"status", "readyReplicas"})));
  const std::int64_t updated = num(path(d, {"status", "updatedReplicas"}));
  const std::int64_t available = num(path(d, {"status", "availableReplicas"}));
  const bool observed_current =
      num(path(d, {"status", "observedGeneration"})) >= num(path(d, {"metadata", "generation"}));
  r.rolled_out = observed_current && updated == desired && st.replicas == desired && available == desired;
  const value* dp = deployment_condition(d, "Progressing");
  if (dp != nullptr && str(field(*dp, "reason")) == "ProgressDeadlineExceeded") {
    r.progressing = false;
    r.reason = "ProgressDeadlineExceeded";
    r.message = bounded(str(field(*dp, "message")));
  } else if (r.rolled_out) {
    r.progressing = false;
    r.reason = "RolloutComplete";
    r.message = "all " + std::to_string(desired) + " replicas run the current template";
  } else {
    r.reason = "RollingOut";
    r.message = std::to_string(updated) + " of " + std::to_string(desired) + " replicas updated, " +
                std::to_string(available) + " available";
  }
  return r;
}

std::string failure_text(const PodFailure& f) {
  return f.message + " (pod " + f.pod + ")";
}

// The failure to report as lastFailure. One without a time of its own (an image pull backing off) keeps
// the time it was first seen, so an unchanged situation gives an unchanged status and no write.
api::LastFailure last_failure(const PodFailure& failure, const std::optional<api::LastFailure>& prev) {
  const bool same =
      prev && prev->reason == failure.reason && prev->pod == failure.pod && prev->message == failure.message;
  return api::LastFailure{failure.reason, failure.message, failure.pod,
                          same && !prev->time.empty() ? prev->time : failure.time};
}

api::Condition degraded_condition(const std::optional<PodFailure>& failure) {
  if (!failure) return make_condition("Degraded", false, "NoFailures", "no pod of this job is failing");
  return make_condition("Degraded", true, failure->reason, failure_text(*failure));
}

// Ready for a job whose desired state was applied: paused, failing, not created yet, available (or
// scaled to zero), or still rolling out.
api::Condition ready_condition(const api::WorkerJob& job, bool deployment_exists, const Rollout& rollout,
                               std::int32_t ready_replicas, std::int32_t desired,
                               const std::optional<PodFailure>& failure) {
  if (job.spec.paused)
    return make_condition("Ready", false, "Paused", "spec.paused is true: the job is scaled to zero");
  if (failure) return make_condition("Ready", false, failure->reason, failure_text(*failure));
  if (!deployment_exists) return make_condition("Ready", false, "Creating", "the Deployment does not exist yet");
  const std::string counts = std::to_string(ready_replicas) + " of " + std::to_string(desired) + " replicas ready";
  if (rollout.rolled_out && ready_replicas >= desired) {
    return desired == 0 ? make_condition("Ready", true, "ScaledToZero", "spec.replicas is 0")
                        : make_condition("Ready", true, "Available", counts);
  }
  return make_condition("Ready", false, "RollingOut", counts);
}

// Stamps c with the generation and now as its lastTransitionTime, unless its status is the same as
// before: then it keeps the old time (API conventions).
api::Condition stamped(api::Condition c, const std::vector<api::Condition>& before, std::int64_t generation,
                       std::string_view now) {
  c.observed_generation = generation;
  c.last_transition_time = std::string(now);
  for (const auto& old : before) {
    if (old.type == c.type && old.status == c.status && !old.last_transition_time.empty()) {
      c.last_transition_time = old.last_transition_time;
    }
  }
  return c;
}

}  // namespace

api::WorkerJobStatus derive_status(const api::WorkerJob& job, const Observed& observed, std::string_view now) {
  const std::int32_t desired = job.spec.paused ? 0 : job.spec.replicas;
  api::WorkerJobStatus st;
  st.observed_generation = job.metadata.generation;
  st.selector = selector_string(job.metadata.name);
  st.last_failure = job.status.last_failure;
  const std::optional<PodFailure> failure = worst_failure(observed.pods, now);
  const Rollout rollout = observe_deployment(observed.deployment, desired, st);
  st.ready = api::ready_text(st.ready_replicas, desired);

  std::vector<api::Condition> conditions;  // Ready, Progressing, Degraded
  if (observed.blocked) {
    const Problem& p = *observed.blocked;
    conditions = {make_condition("Ready", false, p.reason, p.message),
                  make_condition("Progressing", false, p.reason, p.message),
                  make_condition("Degraded", true, p.reason, p.message)};
  } else {
    if (failure) st.last_failure = last_failure(*failure, job.status.last_failure);
    conditions = {ready_condition(job, observed.deployment != nullptr, rollout, st.ready_replicas, desired, failure),
                  make_condition("Progressing", rollout.progressing, rollout.reason, rollout.message),
                  degraded_condition(failure)};
  }
  for (auto& c : conditions) {
    st.conditions.push_back(stamped(std::move(c), job.status.conditions, job.metadata.generation, now));
  }
  return st;
}

bool status_changed(const api::WorkerJobStatus& a, const api::WorkerJobStatus& b) {
  return api::to_json(a).serialize() != api::to_json(b).serialize();
}

}  // namespace wo::workerjob
