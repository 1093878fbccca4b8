#include "support/deployed_operator.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/cluster.h"
#include "support/workerjobs.h"

namespace wo::e2e {

using web::json::value;

std::string operator_leader_identity() {
  const auto r =
      kubectl({"get", "lease", "worker-operator", "-n", kOperatorNamespace, "-o", "jsonpath={.spec.holderIdentity}"});
  return r.ok() ? r.out : std::string();
}

std::string pod_of_identity(const std::string& identity) {
  const auto underscore = identity.rfind('_');
  return underscore == std::string::npos ? identity : identity.substr(0, underscore);
}

value operator_pods() {
  return at(kubectl_json({"get", "pods", "-n", kOperatorNamespace, "-l", "app.kubernetes.io/name=worker-operator"}),
            "items");
}

int operator_restarts() {
  return container_restarts(operator_pods());
}

std::string operator_logs(int lines) {
  std::string out;
  const value pods = operator_pods();  // named: a range over a temporary's member would dangle
  for (const auto& pod : pods.as_array()) {
    const std::string name = at(pod, "metadata.name").as_string();
    const auto r = kubectl({"logs", name, "-n", kOperatorNamespace, "--tail=" + std::to_string(lines)});
    out += "--- " + name + "\n" + r.out + r.err;
  }
  return out;
}

namespace {
std::vector<OperatorPodApplies> read_operator_applies() {
  std::vector<OperatorPodApplies> out;
  const value pods = operator_pods();
  for (const auto& pod : pods.as_array()) {
    const std::string name = at(pod, "metadata.name").as_string();
    const auto r =
        kubectl({"get", "--raw",
                 "/api/v1/namespaces/" + std::string(kOperatorNamespace) + "/pods/" + name + ":8080/proxy/metrics"});
    if (!r.ok()) throw std::runtime_error("cannot read the metrics of operator pod " + name + ": " + r.err);
    out.push_back({at(pod, "metadata.uid").as_string(), container_restarts(value::array(std::vector<value>{pod})),
                   deployment_applies(r.out)});
  }
  return out;
}
}  // namespace

std::vector<OperatorPodApplies> deployed_operator_applies() {
  std::vector<OperatorPodApplies> out;
  std::string unreadable;
  const bool read = wait_until(
      [&] {
        try {
          out = read_operator_applies();
          return true;
        } catch (const std::exception& e) {
          unreadable = e.what();
          return false;
        }
      },
      std::chrono::minutes(1), kPollInterval);
  if (!read) throw std::runtime_error(unreadable);
  return out;
}

double applies_between(const std::vector<OperatorPodApplies>& before, const std::vector<OperatorPodApplies>& after) {
  double writes = 0;
  for (const auto& now : after) {
    const auto then = std::find_if(before.begin(), before.end(), [&](const OperatorPodApplies& b) {
      return b.uid == now.uid && b.restarts == now.restarts;
    });
    writes += then == before.end() ? now.applies : now.applies - then->applies;
  }
  return writes;
}

WritesAndChanges deployment_writes_since(const std::vector<OperatorPodApplies>& before, const std::string& ns) {
  WritesAndChanges out;
  out.writes = applies_between(before, deployed_operator_applies());
  out.changes = deployment_changes(ns);
  return out;
}

int kill9_pod_processes(const std::string& ns, const std::string& pod) {
  const value statuses = at(kubectl_json({"get", "pod", pod, "-n", ns}), "status.containerStatuses");
  std::vector<std::string> ids;
  if (statuses.is_array()) {
    for (const auto& s : statuses.as_array()) {
      const value id = at(s, "containerID");  // "containerd://<64 hex digits>"
      if (!id.is_string()) continue;
      const std::string& text = id.as_string();
      const auto scheme = text.find("://");
      ids.push_back(scheme == std::string::npos ? text : text.substr(scheme + 3));
    }
  }
  int killed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cgroup(entry.path() / "cgroup");
    std::stringstream text;
    text << cgroup.rdbuf();
    for (const auto& id : ids) {
      if (!id.empty() && text.str().find(id) != std::string::npos && ::kill(std::stoi(pid), SIGKILL) == 0) {
        ++killed;
        break;
      }
    }
  }
  return killed;
}

}  // namespace wo::e2e
