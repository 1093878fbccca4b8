#pragma once
// The operator as `make deploy` installs it (namespace worker-operator-system, two replicas, one
// leader by the Lease worker-operator): who leads, how often its pods restarted, and killing one.

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <vector>

namespace wo::e2e {

inline constexpr const char* kOperatorNamespace = "worker-operator-system";

// The Lease's holderIdentity (<pod name>_<random>), or "" when nobody holds it.
std::string operator_leader_identity();
// The pod name in a holder identity.
std::string pod_of_identity(const std::string& identity);
// The operator's pods (JSON array).
web::json::value operator_pods();
// Sum of the restart counts of the operator's containers.
int operator_restarts();
// The last log lines of every operator pod, for failure messages.
std::string operator_logs(int lines = 30);

// The deployed operator's successful Deployment applies, per pod, read from each pod's /metrics through
// the API server's pod proxy, as the user's own monitoring would see them. A pod that does not answer
// (restarting after a kill) is asked again for up to a minute; then this throws.
struct OperatorPodApplies {
  std::string uid;  // a pod replaced or restarted starts its counts again
  int restarts = 0;
  double applies = 0;
};
std::vector<OperatorPodApplies> deployed_operator_applies();

// The writes between two readings, at least: a pod restarted or replaced since `before` counts from
// zero, so what its predecessor wrote after `before` is missing.
double applies_between(const std::vector<OperatorPodApplies>& before, const std::vector<OperatorPodApplies>& after);

// What a test compares: the deployed operator's Deployment writes since `before` (at least) and the changes
// of the Deployments in ns (deployment_changes: nullopt once one was deleted). The metrics are read first:
// a write counted there has already raised its Deployment's generation.
struct WritesAndChanges {
  double writes = 0;
  std::optional<double> changes;
};
WritesAndChanges deployment_writes_since(const std::vector<OperatorPodApplies>& before, const std::string& ns);

// SIGKILL to the processes of a pod's containers, from this machine, which is the node of the local
// cluster (found by the container ID in /proc/<pid>/cgroup). Returns how many processes were killed: 0
// when the pod does not run on this machine.
int kill9_pod_processes(const std::string& ns, const std::string& pod);

}  // namespace wo::e2e
