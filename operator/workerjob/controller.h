#pragma once
// The WorkerJob controller: for one WorkerJob key, apply the rendered Deployment (and ConfigMap) by
// server-side apply, and write the status derived from the Deployment and its pods.
//
// It reads only from the informers' caches (never lists), and writes only when something differs:
// an unchanged WorkerJob costs no request. Deletion is left to the garbage collector through the
// owner references (no finalizer: nothing outside the cluster needs cleaning up).

#include <chrono>
#include <string>

#include "kube/client.h"
#include "kube/store.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "workerjob/render.h"
#include "workerjob/status.h"

namespace wo::workerjob {

// The resources the controller reads and writes.
const kube::ResourceRef& workerjobs_resource();
const kube::ResourceRef& deployments_resource();
const kube::ResourceRef& configmaps_resource();
const kube::ResourceRef& pods_resource();

// The label every object (and pod) the operator creates carries; informers select on it.
inline constexpr std::string_view kManagedBySelector = "app.kubernetes.io/managed-by=worker-operator";
// Pods are indexed by the WorkerJob they run for (namespace/instance label).
inline constexpr std::string_view kPodsByWorkerJobIndex = "by-workerjob";
kube::IndexFunc index_pods_by_workerjob();

struct Caches {
  const kube::Store& workerjobs;
  const kube::Store& deployments;
  const kube::Store& configmaps;
  const kube::Store& pods;  // with index_pods_by_workerjob() under kPodsByWorkerJobIndex
};

class WorkerJobReconciler : public runtime::Reconciler {
 public:
  WorkerJobReconciler(kube::Client& client, Caches caches, runtime::EventRecorder& events, RenderOptions options);

  runtime::Result reconcile(const runtime::Request& request, std::stop_token stop) override;

 private:
  // Applies the desired objects; returns the live Deployment afterwards, or a problem that blocks it.
  struct Applied {
    web::json::value deployment;  // null when blocked
    std::optional<Problem> blocked;
    bool deployment_written = false;  // this reconcile created or changed the Deployment
  };
  Applied apply_desired(const api::WorkerJob& job, const web::json::value& raw, const Rendered& desired);
  // The live object of that name: from the cache, else from the API server (null when absent).
  web::json::value live_object(const kube::ResourceRef& resource, const kube::Store& cache, const std::string& ns,
                               const std::string& name);
  void write_status(const api::WorkerJob& job, const api::WorkerJobStatus& status);
  void record_transitions(const web::json::value& raw, const api::WorkerJobStatus& before,
                          const api::WorkerJobStatus& after);
  runtime::Result report_invalid(const web::json::value& raw, const std::string& reason, const std::string& message);

  kube::Client& client_;
  Caches caches_;
  runtime::EventRecorder& events_;
  RenderOptions options_;
};

}  // namespace wo::workerjob
