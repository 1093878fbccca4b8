#pragma once
// The WorkerJob controller: for one WorkerJob key, apply the rendered Deployment (and ConfigMap) by
// server-side apply, and write the status derived from the Deployment and its pods.
//
// It reads only from the informers' caches (never lists), and writes only when something differs:
// an unchanged WorkerJob costs no request. Deletion is left to the garbage collector through the
// owner references (no finalizer: nothing outside the cluster needs cleaning up).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "kube/client.h"
#include "kube/store.h"
#include "runtime/controller.h"
#include "runtime/event_recorder.h"
#include "workerjob/drift.h"
#include "workerjob/render.h"
#include "workerjob/status.h"

namespace wo::workerjob {

// The resources the controller reads and writes.
const kube::ResourceRef& workerjobs_resource();
const kube::ResourceRef& deployments_resource();
const kube::ResourceRef& configmaps_resource();
const kube::ResourceRef& replicasets_resource();
const kube::ResourceRef& pods_resource();

// The label every object (and pod) the operator creates carries; the ReplicaSet and Pod informers
// select on it. The Deployment and ConfigMap informers do not: they see every object, so that a name
// taken by someone else is found in the cache (cache.h).
inline constexpr std::string_view kManagedBySelector = "app.kubernetes.io/managed-by=worker-operator";
// ReplicaSets and pods are indexed by the uid of their controller (kube::index_by_controller_owner_uid):
// a WorkerJob's pods are those of the ReplicaSets of its Deployment. Labels alone would let anyone's pod
// with the right labels count as the job's.
inline constexpr std::string_view kByControllerIndex = "by-controller-uid";
// The WorkerJob key ("namespace/name") a ReplicaSet or pod names in its instance label: which WorkerJob
// to reconcile when one changes (never which pods count).
std::vector<std::string> workerjob_key_from_labels(const web::json::value& object);

struct Caches {
  const kube::Store& workerjobs;
  const kube::Store& deployments;  // every Deployment, others' as stubs (deployment_projection)
  const kube::Store& configmaps;   // every ConfigMap, others' as stubs (configmap_projection)
  const kube::Store& replicasets;  // indexed under kByControllerIndex
  const kube::Store& pods;         // indexed under kByControllerIndex
};

class WorkerJobReconciler : public runtime::Reconciler {
 public:
  WorkerJobReconciler(kube::Client& client, Caches caches, runtime::EventRecorder& events, RenderOptions options);

  runtime::Result reconcile(const runtime::Request& request, std::stop_token stop) override;

 private:
  // Applies the desired objects; returns the owned Deployment afterwards (null when there is none), and
  // the problem that blocked the controller, if any.
  struct Applied {
    web::json::value deployment;
    std::optional<Problem> blocked;          // NameConflict, ApplyRejected
    bool deployment_awaiting_cache = false;  // an earlier reconcile's write is not in the cache yet
  };
  Applied apply_desired(const api::WorkerJob& job, const web::json::value& raw, const Rendered& desired);
  // One object: applied when apply_need() says so. A rejection by the API server is returned as a
  // problem; any other failure throws.
  struct AppliedObject {
    web::json::value live;  // afterwards
    ApplyNeed need = ApplyNeed::kNone;
    bool written = false;         // the server changed the object (a no-op apply is not a write)
    bool awaiting_cache = false;  // written by an earlier reconcile; the cache has not caught up yet
  };
  std::optional<Problem> apply_if_needed(const kube::ResourceRef& resource, const api::WorkerJob& job,
                                         const web::json::value& live, const web::json::value& desired,
                                         const std::string& name, AppliedObject& out);
  // The live object of that name from the cache (null when absent): whole when the operator manages it,
  // a stub of its identity and owners otherwise (cache.h).
  static web::json::value live_object(const kube::Store& cache, const std::string& ns, const std::string& name);
  // The pods of the Deployment's ReplicaSets, from the caches.
  std::vector<web::json::value> pods_of(const web::json::value& deployment) const;
  // Gives the parsed WorkerJob the status the reconciler last wrote, while the cache still holds the
  // version before that write; forgets it once the cache has caught up.
  void adopt_written_status(api::WorkerJob& job);
  // Writes `status` over job.status (fields it no longer has are removed) and remembers it.
  void write_status(const api::WorkerJob& job, const web::json::value& raw, const api::WorkerJobStatus& status);
  void record_transitions(const web::json::value& raw, const api::WorkerJobStatus& before,
                          const api::WorkerJobStatus& after);
  runtime::Result report_invalid(const web::json::value& raw, const std::string& reason, const std::string& message);

  kube::Client& client_;
  Caches caches_;
  runtime::EventRecorder& events_;
  RenderOptions options_;
  // What the reconciler remembers of each object it applied ("plural/ns/name"), dropped with its WorkerJob:
  struct ObjectMemo {
    // The rendering the API server rewrites beyond what contains() knows, if any: for it only the
    // fingerprint decides whether to apply.
    std::string normalised_fingerprint;
    // The last write: the fingerprint written and the resourceVersion it replaced ("" for a creation).
    // A cache still holding that version has not seen the write yet (it comes with a watch event, which
    // reconciles again), so the object is not applied a second time meanwhile.
    std::string written_fingerprint;
    std::string replaced_version;
    // The same for versions written by others between the one replaced and the write (a Deployment
    // controller's status updates on a hand-edited spec), still on their way to the cache: the object the
    // write produced (its uid and generation) is newer than any of them. Generation 0: not known (a
    // ConfigMap has none), and only replaced_version decides.
    std::string written_uid;
    std::int64_t written_generation = 0;
    // When it was written: a creation not in the cache yet is awaited only this long (kCreationInFlight),
    // since an object deleted after its creation looks the same.
    std::chrono::steady_clock::time_point written_at;
  };
  // The operator's last write of this rendering has not reached the cache yet: `live` (null: absent) is
  // the version it replaced, older, or a creation still on its way. Applying again would be a write for
  // nothing; the write's own watch event reconciles again.
  static bool write_not_cached_yet(const ObjectMemo& memo, const web::json::value& live);
  // The status last written to a WorkerJob ("ns/name") and the resourceVersion that write replaced, until
  // the cache shows a newer version: a reconcile meanwhile (the new Deployment's event comes milliseconds
  // after the write) would otherwise compare with the older status and write the same one again.
  struct StatusMemo {
    std::string replaced_version;
    api::WorkerJobStatus written;
  };
  std::mutex mu_;
  std::unordered_map<std::string, ObjectMemo> memos_;
  std::unordered_map<std::string, StatusMemo> status_memos_;
};

}  // namespace wo::workerjob
