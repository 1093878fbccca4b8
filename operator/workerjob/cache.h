#pragma once
// What the WorkerJob controller's caches keep of each kind: the fields it reads, and nothing else
// (kube::ReflectorOptions::transform). Each projection lives here, next to the code that reads it, and
// must grow with it: a field status.cpp or drift.cpp starts to read and a projection drops reads as
// absent, silently. tests/cache_test.cpp derives every status fixture from raw and from projected
// objects and requires the same result.
//
// Deployments and ConfigMaps are cached without a label selector, every object of the watched
// namespaces, so that the cache answers "no object of that name" with authority and a new WorkerJob
// costs no GET: objects the operator manages (its managed-by label, or a WorkerJob as their
// controller, which finds one whose label was edited away) are kept whole, since their spec is compared
// with the rendering; any other object is kept as a stub of its identity and owners, which is all that
// reporting a NameConflict needs.
#include <cpprest/json.h>

#include "kube/watch.h"

namespace wo::workerjob {

// WorkerJobs: whole, their spec and status packed (below): the reconciler reads them once per reconcile,
// the status metrics once per scrape, both through unpacked().
kube::ObjectTransform workerjob_projection();
// Pods: identity, owners and labels (the by-controller index, the instance label), deletionTimestamp,
// and the container statuses and conditions pod_failure() reads.
kube::ObjectTransform pod_projection();
// ReplicaSets: identity, owners and labels only (pods are found through a ReplicaSet's uid).
kube::ObjectTransform replicaset_projection();
// Deployments: the operator's with their spec packed (below) and only the status fields derive_status()
// reads; others a stub.
kube::ObjectTransform deployment_projection();
// ConfigMaps: the operator's with their data packed; others a stub.
kube::ObjectTransform configmap_projection();

// What is read of a cached object only now and then (a WorkerJob's spec and status, a managed
// Deployment's spec, a managed ConfigMap's data and binaryData) is cached as its JSON text, under
// kPackedField: as a tree of cpprest values a Deployment's spec is about 90 nodes of some 120 bytes each,
// against 2 KB of text, and such trees were most of the operator's memory. The metadata stays a tree (keys,
// owners, labels and the indexes read it all the time). unpacked() gives the object back with those fields
// as trees; whoever reads them from a cached object must go through it.
inline constexpr const char* kPackedField = "worker-operator.packed";
web::json::value unpacked(const web::json::value& cached);

// True for an object the operator manages: its managed-by label, or a WorkerJob as its controller.
bool managed_by_operator(const web::json::value& object);

}  // namespace wo::workerjob
