// The caches' projections (cache.h) against what reads them: for every failure the status tests cover,
// derive_status() on the projected objects must equal derive_status() on the raw ones, and drift
// detection must still see the operator's objects whole and others as foreign.
#include "workerjob/cache.h"

#include <gtest/gtest.h>

#include "kube/object.h"
#include "workerjob/drift.h"
#include "workerjob/status.h"

namespace wo::workerjob {
namespace {

using web::json::value;

constexpr const char* kNow = "2026-11-28T04:00:00Z";

api::WorkerJob make_job(int replicas = 1) {
  const std::string text = R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob",
    "metadata":{"name":"rec","namespace":"campaigns","uid":"u1","generation":3},
    "spec":{"job":"campaigns.reconciler","replicas":)" +
                           std::to_string(replicas) + "}}";
  auto parsed = api::parse_workerjob(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  return *parsed.value;
}

// A pod as the API server returns it: spec, metadata and status in full around the container status
// under test (extra_status adds or replaces status fields).
value full_pod(const std::string& name, const std::string& container_status, const std::string& extra_status = "{}") {
  value pod = value::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                           R"(","generateName":"rec-5d9c-","namespace":"campaigns","uid":"pod-)" + name +
                           R"(","resourceVersion":"812","creationTimestamp":"2026-11-28T03:00:00Z",
      "labels":{"app.kubernetes.io/instance":"rec","app.kubernetes.io/managed-by":"worker-operator","pod-template-hash":"5d9c"},
      "annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-28T02:00:00Z"},
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rec-5d9c","uid":"rs-1","controller":true,"blockOwnerDeletion":true}]},
    "spec":{"containers":[{"name":"worker","image":"worker:1","args":["--job=campaigns.reconciler"],
      "resources":{"limits":{"memory":"256Mi"},"requests":{"cpu":"100m","memory":"128Mi"}},
      "volumeMounts":[{"name":"config","mountPath":"/etc/worker"}],"terminationMessagePolicy":"FallbackToLogsOnError"}],
      "volumes":[{"name":"config","configMap":{"name":"rec-config"}}],"nodeName":"node-1","restartPolicy":"Always"},
    "status":{"phase":"Running","hostIP":"10.0.0.1","podIP":"10.1.0.7","qosClass":"Burstable","startTime":"2026-11-28T03:00:01Z",
      "conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady","lastTransitionTime":"2026-11-28T03:10:00Z"},
                    {"type":"PodScheduled","status":"True","lastTransitionTime":"2026-11-28T03:00:00Z"}],
      "initContainerStatuses":[{"name":"init","image":"worker:1","imageID":"sha256:1","ready":true,"restartCount":0,
        "state":{"terminated":{"reason":"Completed","exitCode":0,"finishedAt":"2026-11-28T03:00:02Z","containerID":"c://0"}}}],
      "containerStatuses":[)" +
                           container_status + "]}}");
  const value extra = value::parse(extra_status);
  for (const auto& [key, v] : extra.as_object()) pod["status"][key] = v;
  return pod;
}

value full_deployment(const std::string& progressing_reason = "NewReplicaSetAvailable") {
  return value::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"rec","namespace":"campaigns",
      "uid":"d-1","resourceVersion":"900","generation":4,
      "labels":{"app.kubernetes.io/managed-by":"worker-operator"},
      "annotations":{"deployment.kubernetes.io/revision":"3","worker.dev/applied-hash":"abc"},
      "ownerReferences":[{"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob","name":"rec","uid":"u1","controller":true}]},
    "spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"worker","image":"worker:1"}]}}},
    "status":{"observedGeneration":4,"replicas":1,"updatedReplicas":1,"readyReplicas":0,"availableReplicas":0,
      "unavailableReplicas":1,"collisionCount":0,
      "conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"no",
                     "lastUpdateTime":"2026-11-28T03:10:00Z","lastTransitionTime":"2026-11-28T03:10:00Z"},
                    {"type":"Progressing","status":"False","reason":")" +
                      progressing_reason + R"(","message":"ReplicaSet \"rec-5d9c\" has timed out progressing.",
                     "lastUpdateTime":"2026-11-28T03:10:00Z","lastTransitionTime":"2026-11-28T03:10:00Z"}]}})");
}

// Each container status of the status tests (status_test.cpp), in a full pod.
std::vector<value> failing_pods() {
  return {
      full_pod("oom-backoff", R"({"name":"worker","restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
          "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2026-11-28T03:10:00Z"}}})"),
      full_pod("oom-running", R"({"name":"worker","restartCount":1,"state":{"running":{}},
          "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2026-11-28T03:58:00Z"}}})"),
      full_pod("unknown-job", R"({"name":"worker","restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
          "lastState":{"terminated":{"reason":"Error","exitCode":2,"finishedAt":"2026-11-28T03:59:00Z",
            "message":"UnknownJob: no job named \"campaigns.nope\"; known jobs: a, b\n"}}})"),
      full_pod("invalid-config", R"({"name":"worker","state":{"terminated":{"reason":"Error","exitCode":2,
          "finishedAt":"2026-11-28T03:59:00Z","message":"InvalidConfig: field \"concurrency\": must be >= 1"}}})"),
      full_pod("crash", R"({"name":"worker","restartCount":4,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
          "lastState":{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2026-11-28T03:00:00Z",
            "message":"panic: something"}}})"),
      full_pod("pull", R"({"name":"worker","state":{"waiting":{"reason":"ErrImagePull","message":"not found"}}})"),
      full_pod(
          "config-error",
          R"({"name":"worker","state":{"waiting":{"reason":"CreateContainerConfigError","message":"no secret"}}})"),
      full_pod("unschedulable", R"({"name":"worker","state":{"waiting":{"reason":"ContainerCreating"}}})",
               R"({"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable",
                   "message":"0/1 nodes: Insufficient memory","lastTransitionTime":"2026-11-28T03:59:00Z"}]})"),
      full_pod(
          "init-crash", R"({"name":"worker","state":{"waiting":{"reason":"PodInitializing"}}})",
          R"({"initContainerStatuses":[{"name":"init","restartCount":2,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
                   "lastState":{"terminated":{"reason":"Error","exitCode":3,"finishedAt":"2026-11-28T03:59:30Z"}}}]})"),
      full_pod("old-failure", R"({"name":"worker","restartCount":1,"state":{"running":{}},
          "lastState":{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2026-11-28T02:00:00Z"}}})"),
  };
}

std::string status_text(const std::vector<value>& pods, const value& deployment) {
  Observed observed;
  observed.deployment = &deployment;
  observed.pods = pods;
  return api::to_json(derive_status(make_job(2), observed, kNow)).serialize();
}

TEST(CacheProjection, EveryPodFailureReadsTheSameFromAProjectedPod) {
  const auto project = pod_projection();
  for (const value& raw : failing_pods()) {
    const value projected = project(raw);
    const auto want = pod_failure(raw, kNow);
    const auto got = pod_failure(projected, kNow);
    const std::string name = kube::meta_string(raw, "name");
    ASSERT_EQ(want.has_value(), got.has_value()) << name;
    if (!want) continue;
    EXPECT_EQ(got->reason, want->reason) << name;
    EXPECT_EQ(got->message, want->message) << name;
    EXPECT_EQ(got->time, want->time) << name;
    EXPECT_EQ(got->pod, want->pod) << name;
  }
}

TEST(CacheProjection, StatusFromProjectedObjectsEqualsStatusFromRawOnes) {
  const auto pods = failing_pods();
  const auto project_pod = pod_projection();
  const auto project_deployment = deployment_projection();
  for (const char* progressing : {"NewReplicaSetAvailable", "ProgressDeadlineExceeded"}) {
    const value raw_deployment = full_deployment(progressing);
    const value projected_deployment = project_deployment(raw_deployment);
    // Each pod alone (its own failure wins), then all together (the most severe wins).
    for (const value& pod : pods) {
      EXPECT_EQ(status_text({project_pod(pod)}, projected_deployment), status_text({pod}, raw_deployment))
          << kube::meta_string(pod, "name");
    }
    std::vector<value> projected_pods;
    projected_pods.reserve(pods.size());
    for (const value& pod : pods) projected_pods.push_back(project_pod(pod));
    EXPECT_EQ(status_text(projected_pods, projected_deployment), status_text(pods, raw_deployment));
    // A terminating pod is not judged: its deletionTimestamp must survive the projection.
    value terminating = pods.front();
    terminating["metadata"]["deletionTimestamp"] = value::string("2026-11-28T03:59:59Z");
    EXPECT_EQ(status_text({project_pod(terminating)}, projected_deployment),
              status_text({terminating}, raw_deployment));
  }
}

TEST(CacheProjection, PodsAndReplicaSetsKeepWhatTheIndexesAndMappingRead) {
  const value raw = failing_pods().front();
  for (const auto& project : {pod_projection(), replicaset_projection()}) {
    const value kept = project(raw);
    EXPECT_EQ(kube::object_key(kept), "campaigns/oom-backoff");
    EXPECT_EQ(kube::meta_string(kept, "resourceVersion"), "812");
    EXPECT_EQ(kube::meta_string(kept, "uid"), "pod-oom-backoff");
    ASSERT_TRUE(kube::controller_of(kept).has_value());
    EXPECT_EQ(kube::controller_of(kept)->uid, "rs-1");
    EXPECT_EQ(kube::nested_string(kept, {"metadata", "labels", "app.kubernetes.io/instance"}), "rec");
    EXPECT_FALSE(kept.has_field("spec")) << "a cached pod or ReplicaSet needs no spec";
  }
  EXPECT_LT(pod_projection()(raw).serialize().size(), raw.serialize().size());
}

TEST(CacheProjection, TheOperatorsDeploymentKeepsItsSpecPackedAndOthersAreStubs) {
  const auto project = deployment_projection();
  const value ours = full_deployment();
  const value kept = project(ours);
  EXPECT_FALSE(kept.has_field("spec")) << "the spec is cached as text, not as a tree";
  EXPECT_EQ(unpacked(kept).at("spec"), ours.at("spec"));
  EXPECT_FALSE(unpacked(kept).has_field(kPackedField));
  EXPECT_EQ(kept.at("metadata"), ours.at("metadata"));
  EXPECT_FALSE(kept.at("status").has_field("unavailableReplicas"));

  value foreign = ours;
  foreign["metadata"]["labels"] = value::parse(R"({"app":"theirs"})");
  foreign["metadata"]["ownerReferences"] = value::array();
  const value stub = project(foreign);
  EXPECT_FALSE(stub.has_field("spec"));
  EXPECT_FALSE(stub.has_field("status"));
  EXPECT_EQ(kube::object_key(stub), "campaigns/rec");
  EXPECT_EQ(kube::meta_string(stub, "uid"), "d-1");
  EXPECT_FALSE(kube::controller_of(stub).has_value()) << "a stub is still told apart from an owned object";

  // Ours with the managed-by label edited away: still whole (its controller is a WorkerJob), so drift
  // detection sees the missing label and puts it back.
  value unlabelled = ours;
  unlabelled["metadata"]["labels"] = value::object();
  const value kept_unlabelled = unpacked(project(unlabelled));
  EXPECT_EQ(kept_unlabelled.at("spec"), ours.at("spec"));
  value desired = value::parse(R"({"metadata":{"name":"rec","labels":{"app.kubernetes.io/managed-by":"worker-operator"},
      "annotations":{"worker.dev/applied-hash":"abc"}}})");
  EXPECT_EQ(apply_need(kept_unlabelled, desired), ApplyNeed::kDrifted);
}

TEST(CacheProjection, TheOperatorsConfigMapIsWholeAndOthersAreStubs) {
  const auto project = configmap_projection();
  const value ours = value::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rec-config",
      "namespace":"campaigns","uid":"c-1","resourceVersion":"5","labels":{"app.kubernetes.io/managed-by":"worker-operator"}},
      "data":{"config.yaml":"concurrency: 4\n"}})");
  EXPECT_FALSE(project(ours).has_field("data")) << "the data is cached as text, not as a tree";
  EXPECT_EQ(unpacked(project(ours)), ours);
  value foreign = ours;
  foreign["metadata"]["labels"] = value::object();
  const value stub = project(foreign);
  EXPECT_FALSE(stub.has_field("data"));
  EXPECT_EQ(kube::object_key(stub), "campaigns/rec-config");
}

// Drift detection reads the cached object through unpacked(): a hand edit deep in the packed spec (the
// image) is still found, and an untouched object still needs no apply.
TEST(CacheProjection, DriftIsSeenThroughThePackedSpec) {
  const auto project = deployment_projection();
  const value ours = full_deployment();
  value desired = value::object();
  desired["metadata"] = ours.at("metadata");
  desired["spec"] = ours.at("spec");
  EXPECT_EQ(apply_need(unpacked(project(ours)), desired), ApplyNeed::kNone);
  value edited = ours;
  edited["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("someone/else:1");
  EXPECT_EQ(apply_need(unpacked(project(edited)), desired), ApplyNeed::kDrifted);
  EXPECT_EQ(unpacked(value::null()), value::null());
  EXPECT_EQ(unpacked(project(ours)), unpacked(unpacked(project(ours)))) << "unpacking twice changes nothing";
}

}  // namespace
}  // namespace wo::workerjob
