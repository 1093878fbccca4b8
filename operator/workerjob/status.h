#pragma once
// The status of one WorkerJob, derived from what the operator observes: its Deployment and the
// pods of that Deployment. A pure function (time is an argument), so every rule has a unit test.
//
// Conditions (metav1.Condition, observedGeneration on each):
//   Ready        True when every desired replica is ready on the current template; the reason is the
//                STATUS printer column, so when False it names the cause (a failure reason, Paused,
//                RollingOut, ...).
//   Progressing  True while a rollout is under way; False when complete or past its deadline.
//   Degraded     True while pods fail: OOMKilled, CrashLoopBackOff, UnknownJob, InvalidConfig,
//                ImagePullBackOff, CreateContainerConfigError, Unschedulable; or when the controller
//                itself cannot act (NameConflict, InvalidSpec).
// lastFailure keeps the most recent failure seen, also after the job recovers.

#include <cpprest/json.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/workerjob.h"

namespace wo::workerjob {

// A reason and message for a condition, e.g. {"NameConflict", "Deployment x exists and is not ours"}.
struct Problem {
  std::string reason;
  std::string message;
};

// A pod failure read from a pod's status.
struct PodFailure {
  std::string reason;
  std::string message;
  std::string pod;
  std::string time;  // RFC 3339; when the failure happened (or was observed)
  int severity = 0;  // larger wins when several pods fail
};

struct Observed {
  const web::json::value* deployment = nullptr;  // the owned Deployment, when it exists
  std::vector<web::json::value> pods;            // the pods of that Deployment
  std::optional<Problem> blocked;                // the controller could not apply the desired state
};

// A container that terminated within this window before `now` still counts as failing while it runs
// again: a job that is OOMKilled every few minutes is degraded even between kills.
inline constexpr std::chrono::seconds kRecentFailureWindow{300};

// Reasons the worker writes at the start of its termination message ("UnknownJob: ..."), which the
// operator lifts into Degraded (docs/worker.md describes the format).
const std::vector<std::string>& worker_termination_reasons();

// The failure of one pod, if it is failing.
std::optional<PodFailure> pod_failure(const web::json::value& pod, std::string_view now);

// The full status to write, given the status currently stored (to keep lastTransitionTime and
// lastFailure) and what was observed. `now` is RFC 3339 UTC with second precision.
api::WorkerJobStatus derive_status(const api::WorkerJob& job, const Observed& observed, std::string_view now);

// True when two statuses differ in anything worth a write (status is written only when it changes).
bool status_changed(const api::WorkerJobStatus& a, const api::WorkerJobStatus& b);

}  // namespace wo::workerjob
