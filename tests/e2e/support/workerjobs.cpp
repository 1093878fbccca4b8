#include "support/workerjobs.h"

#include <sstream>

#include "support/cluster.h"

namespace wo::e2e {

using web::json::value;

namespace {
std::string string_at(const value& object, const std::string& path) {
  const value v = at(object, path);
  return v.is_string() ? v.as_string() : std::string();
}
}  // namespace

value workerjob_manifest(const std::string& ns, const std::string& name, const std::string& job) {
  value wj = value::parse(R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","spec":{"replicas":0,
      "resources":{"requests":{"cpu":"100m","memory":"100M"},"limits":{"cpu":"1","memory":"500M"}}}})");
  wj["metadata"]["name"] = value::string(name);
  wj["metadata"]["namespace"] = value::string(ns);
  wj["spec"]["job"] = value::string(job);
  return wj;
}

Condition condition(const value& workerjob, const std::string& type) {
  const value conditions = at(workerjob, "status.conditions");
  if (!conditions.is_array()) return {};
  for (const auto& c : conditions.as_array()) {
    if (string_at(c, "type") == type) return {string_at(c, "status"), string_at(c, "reason"), string_at(c, "message")};
  }
  return {};
}

Condition live_condition(const std::string& ns, const std::string& name, const std::string& type) {
  try {
    return condition(kubectl_json({"get", "workerjob", name, "-n", ns}), type);
  } catch (const std::exception&) {
    return {};
  }
}

std::string describe_conditions(const value& workerjob) {
  std::ostringstream out;
  const value conditions = at(workerjob, "status.conditions");
  if (!conditions.is_array()) return "(no conditions)";
  for (const auto& c : conditions.as_array()) {
    out << string_at(c, "type") << "=" << string_at(c, "status") << " reason=" << string_at(c, "reason")
        << " message=\"" << string_at(c, "message") << "\"\n";
  }
  const value failure = at(workerjob, "status.lastFailure");
  if (!failure.is_null()) out << "lastFailure=" << failure.serialize() << "\n";
  return out.str();
}

std::vector<Event> events_of(const std::string& ns, const std::string& name) {
  const value list = kubectl_json(
      {"get", "events", "-n", ns, "--field-selector", "involvedObject.kind=WorkerJob,involvedObject.name=" + name});
  std::vector<Event> out;
  const value items = at(list, "items");  // named: a range over a temporary's member dangles
  for (const auto& e : items.as_array()) {
    const value count = at(e, "count");
    out.push_back({string_at(e, "type"), string_at(e, "reason"), string_at(e, "message"),
                   count.is_number() ? count.as_integer() : 1});
  }
  return out;
}

bool has_event(const std::vector<Event>& events, const std::string& reason) {
  for (const auto& e : events) {
    if (e.reason == reason) return true;
  }
  return false;
}

std::string describe_events(const std::vector<Event>& events) {
  std::ostringstream out;
  for (const auto& e : events) out << e.type << " " << e.reason << " x" << e.count << ": " << e.message << "\n";
  return events.empty() ? "(no events)\n" : out.str();
}

value pods_of(const std::string& ns, const std::string& name) {
  return at(kubectl_json({"get", "pods", "-n", ns, "-l", "app.kubernetes.io/instance=" + name}), "items");
}

std::vector<value> ready_pods_of(const std::string& ns, const std::string& name) {
  std::vector<value> ready;
  const value pods = pods_of(ns, name);  // named: a range over a temporary's member dangles
  for (const auto& pod : pods.as_array()) {
    if (!at(pod, "metadata.deletionTimestamp").is_null()) continue;
    const value conditions = at(pod, "status.conditions");
    if (!conditions.is_array()) continue;
    for (const auto& c : conditions.as_array()) {
      if (string_at(c, "type") == "Ready" && string_at(c, "status") == "True") ready.push_back(pod);
    }
  }
  return ready;
}

std::string describe_pods(const std::string& ns, const std::string& name) {
  std::ostringstream out;
  try {
    const value pods = pods_of(ns, name);  // named: a range over a temporary's member dangles
    for (const auto& pod : pods.as_array()) {
      out << string_at(pod, "metadata.name") << " phase=" << string_at(pod, "status.phase");
      const value statuses = at(pod, "status.containerStatuses");
      if (statuses.is_array()) {
        for (const auto& s : statuses.as_array()) {
          out << " ready=" << at(s, "ready").serialize() << " restarts=" << at(s, "restartCount").serialize();
          const std::string waiting = string_at(s, "state.waiting.reason");
          const std::string last = string_at(s, "lastState.terminated.reason");
          if (!waiting.empty()) out << " waiting=" << waiting;
          if (!last.empty()) out << " last=" << last;
        }
      }
      out << "\n";
    }
  } catch (const std::exception& e) {
    out << "(pods unreadable: " << e.what() << ")\n";
  }
  const std::string text = out.str();
  return text.empty() ? "(no pods)\n" : text;
}

int restarts_of(const std::string& ns, const std::string& name) {
  return container_restarts(pods_of(ns, name));
}

std::optional<double> deployment_changes(const std::string& ns) {
  const value deployments =
      kubectl_json({"get", "deployments", "-n", ns, "-l", "app.kubernetes.io/managed-by=worker-operator"});
  const value events = kubectl_json({"get", "events", "-n", ns, "--field-selector", "reason=DeploymentCreated"});
  double created = 0;
  for (const auto& e : events.at("items").as_array()) {
    created += e.has_field("count") && e.at("count").is_integer() ? e.at("count").as_integer() : 1;
  }
  const auto& items = deployments.at("items").as_array();
  if (created != static_cast<double>(items.size())) return std::nullopt;
  double generations = 0;
  for (const auto& d : items) generations += at(d, "metadata.generation").as_number().to_double();
  return generations;
}

}  // namespace wo::e2e
