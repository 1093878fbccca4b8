#include "workerjob/cache.h"

#include "kube/object.h"

namespace wo::workerjob {
namespace {

using web::json::value;

// The metadata every cached object keeps: its key and version (the store, the informer's update
// events), uid and owners (owned_by(), the by-controller index, watch_owned()), labels (the instance
// label that maps a pod to its WorkerJob).
value identity_metadata() {
  return value::parse(R"({"name":true,"namespace":true,"uid":true,"resourceVersion":true,"labels":true,
                          "ownerReferences":true})");
}

value stub_shape() {
  value shape = value::object();
  shape["apiVersion"] = value::boolean(true);
  shape["kind"] = value::boolean(true);
  shape["metadata"] = identity_metadata();
  return shape;
}

// What pod_failure() and worst_failure() read (status.cpp): every container state (waiting and
// terminated: reason, message, exitCode, finishedAt), in init and app containers alike, the conditions
// (PodScheduled's reason, message, lastTransitionTime), and deletionTimestamp.
value pod_shape() {
  value shape = stub_shape();
  shape["metadata"]["deletionTimestamp"] = value::boolean(true);
  const value container = value::parse(R"({"name":true,"state":true,"lastState":true})");
  shape["status"] = value::object();
  shape["status"]["initContainerStatuses"] = container;
  shape["status"]["containerStatuses"] = container;
  shape["status"]["conditions"] =
      value::parse(R"({"type":true,"status":true,"reason":true,"message":true,"lastTransitionTime":true})");
  return shape;
}

// What observe_deployment() reads of a Deployment's status (status.cpp); the rest of the status (the
// conditions' times, collisionCount, ...) changes often and is read by nobody.
value deployment_status_shape() {
  return value::parse(R"({"observedGeneration":true,"replicas":true,"readyReplicas":true,"updatedReplicas":true,
                          "availableReplicas":true,"conditions":{"type":true,"reason":true,"message":true}})");
}

// Moves each of `fields` into kPackedField as its JSON text.
value pack(value object, std::initializer_list<const char*> fields) {
  if (!object.is_object()) return object;
  value packed = value::object();
  for (const char* f : fields) {
    if (!object.has_field(f)) continue;
    std::string text = object.at(f).serialize();
    text.shrink_to_fit();  // serialize() grew it by doubling; it is kept for the object's lifetime
    packed[f] = value::string(std::move(text));
    object.erase(f);
  }
  if (packed.size() > 0) object[kPackedField] = std::move(packed);
  return object;
}

}  // namespace

value unpacked(const value& cached) {
  if (!cached.is_object() || !cached.has_field(kPackedField)) return cached;
  value out = cached;
  for (const auto& [field, text] : cached.at(kPackedField).as_object()) {
    out[field] = value::parse(text.as_string());
  }
  out.erase(kPackedField);
  return out;
}

bool managed_by_operator(const value& object) {
  if (kube::nested_string(object, {"metadata", "labels", "app.kubernetes.io/managed-by"}) == "worker-operator") {
    return true;
  }
  const auto owner = kube::controller_of(object);
  return owner && owner->kind == "WorkerJob" && kube::group_of(owner->api_version) == "worker.dev";
}

kube::ObjectTransform workerjob_projection() {
  return [](value wj) { return pack(std::move(wj), {"spec", "status"}); };
}

kube::ObjectTransform pod_projection() {
  return [shape = pod_shape()](const value& pod) { return kube::project(pod, shape); };
}

kube::ObjectTransform replicaset_projection() {
  return [shape = stub_shape()](const value& rs) { return kube::project(rs, shape); };
}

kube::ObjectTransform deployment_projection() {
  return [stub = stub_shape(), status = deployment_status_shape()](value d) {
    if (!managed_by_operator(d)) return kube::project(d, stub);
    // The spec and metadata whole: drift detection compares them with the rendering (drift.h).
    if (d.is_object() && d.has_field("status")) d["status"] = kube::project(d.at("status"), status);
    return pack(std::move(d), {"spec"});
  };
}

kube::ObjectTransform configmap_projection() {
  return [stub = stub_shape()](value cm) {
    // Whole, its data packed: drift detection compares it with the rendering.
    if (managed_by_operator(cm)) return pack(std::move(cm), {"data", "binaryData"});
    return kube::project(cm, stub);
  };
}

}  // namespace wo::workerjob
