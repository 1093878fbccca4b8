#pragma once
// Reading a WorkerJob's status the way a user reads `kubectl get wj` and `kubectl describe wj`:
// conditions by type, the failure last seen, the Events recorded on it, its pods.

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <vector>

namespace wo::e2e {

// A WorkerJob manifest: `job` in ns/name with replicas 0 and modest resources; tests set the rest.
web::json::value workerjob_manifest(const std::string& ns, const std::string& name, const std::string& job);

struct Condition {
  std::string status;  // "True", "False", "Unknown"; empty when the condition is not there
  std::string reason;
  std::string message;
};

// The condition `type` of a WorkerJob object (as kubectl_json returns it).
Condition condition(const web::json::value& workerjob, const std::string& type);

// The condition `type` of the live WorkerJob ns/name; an empty Condition when it cannot be read.
Condition live_condition(const std::string& ns, const std::string& name, const std::string& type);

// "reason=... status=... message=..." of every condition, for failure messages.
std::string describe_conditions(const web::json::value& workerjob);

struct Event {
  std::string type;    // Normal, Warning
  std::string reason;  // e.g. DeploymentCreated
  std::string message;
  int count = 1;
};

// The Events whose involvedObject is the WorkerJob ns/name, oldest first.
std::vector<Event> events_of(const std::string& ns, const std::string& name);
bool has_event(const std::vector<Event>& events, const std::string& reason);
std::string describe_events(const std::vector<Event>& events);

// The pods of a WorkerJob (label app.kubernetes.io/instance=name), as a JSON array.
web::json::value pods_of(const std::string& ns, const std::string& name);

// The pods that run and are Ready (not being deleted).
std::vector<web::json::value> ready_pods_of(const std::string& ns, const std::string& name);

// One line per pod: name, phase, ready, restarts, waiting or last termination reason.
std::string describe_pods(const std::string& ns, const std::string& name);

// Sum of the restart counts of every container of those pods.
int restarts_of(const std::string& ns, const std::string& name);

// The changes the operator's Deployments in ns went through: the sum of their metadata.generation (each
// spec change, by the operator or by hand, adds one). nullopt when a Deployment was deleted meanwhile
// (fewer live Deployments than DeploymentCreated events): its generations are gone. Throws when they
// cannot be read.
std::optional<double> deployment_changes(const std::string& ns);

}  // namespace wo::e2e
