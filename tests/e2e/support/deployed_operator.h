#pragma once
// The operator as `make deploy` installs it (namespace worker-operator-system, two replicas, one
// leader by the Lease worker-operator): who leads, how often its pods restarted, and killing one.

#include <cpprest/json.h>

#include <string>

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

// SIGKILL to the processes of a pod's containers, from this machine, which is the node of the local
// cluster (found by the container ID in /proc/<pid>/cgroup). Returns how many processes were killed: 0
// when the pod does not run on this machine.
int kill9_pod_processes(const std::string& ns, const std::string& pod);

}  // namespace wo::e2e
