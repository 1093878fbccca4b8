// The operator against the real cluster: the operator runs as a process with the kubeconfig and
// watches a namespace of the test's own. Most tests keep replicas at 0 and check what the control plane
// alone decides (Deployments, ConfigMaps, drift, scaling, pausing, deletion, conflicts); the failure
// tests run real worker pods from the worker image (fixture `images`) that fail before needing a
// database.

#include <gtest/gtest.h>

#include <filesystem>

#include "api/workerjob.h"
#include "support/operator_fixture.h"
#include "wo/version.h"
#include "workerjob/drift.h"
#include "workerjob/render.h"

namespace wo::e2e {
namespace {

using web::json::value;
using namespace std::chrono_literals;

TEST_F(OperatorTest, SamplesBecomeDeploymentsWithTheContractsFields) {
  std::vector<value> jobs;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() + "/manifests/samples")) {
    for (value doc : load_manifests(entry.path().string())) {
      if (!doc.has_field("kind") || doc.at("kind").as_string() != "WorkerJob") continue;
      doc["metadata"]["namespace"] = value::string(ns());
      // The rendering is what this test checks: no pods, so it never competes for the node.
      doc["spec"]["replicas"] = value::number(0);
      kubectl_apply(doc.serialize());
      jobs.push_back(doc);
    }
  }
  ASSERT_GE(jobs.size(), 3u) << "the seed's three sample WorkerJobs";

  for (const auto& doc : jobs) {
    const std::string name = doc.at("metadata").at("name").as_string();
    ASSERT_TRUE(wait_until([&] { return exists("deployment", name); }, kConverge, kPollInterval))
        << "expected Deployment " << ns() << "/" << name << " within " << kConverge.count() << " s";
    const value wj = get("workerjob", name);
    const value d = get("deployment", name);

    // Ownership and labels.
    EXPECT_EQ(at(d, "metadata.ownerReferences.0.uid"), at(wj, "metadata.uid"));
    EXPECT_EQ(at(d, "metadata.ownerReferences.0.controller"), value::boolean(true));
    EXPECT_EQ(at(d, "metadata.ownerReferences.0.kind"), value::string("WorkerJob"));
    const value labels = at(d, "metadata.labels");
    EXPECT_EQ(labels.at("app.kubernetes.io/name"), value::string("worker"));
    EXPECT_EQ(labels.at("app.kubernetes.io/instance"), value::string(name));
    EXPECT_EQ(labels.at("app.kubernetes.io/managed-by"), value::string("worker-operator"));
    EXPECT_EQ(labels.at("worker.dev/job"), at(wj, "spec.job"));

    // The one container: args, resources exactly as given, port, probes, security.
    const value c = at(d, "spec.template.spec.containers.0");
    EXPECT_EQ(at(d, "spec.template.spec.containers").size(), 1u);
    EXPECT_EQ(at(c, "name"), value::string("worker"));
    EXPECT_EQ(at(c, "args.0"), value::string("--job=" + at(wj, "spec.job").as_string()));
    value live_resources = value::object(), want_resources = value::object();
    live_resources["resources"] = at(c, "resources");  // under "resources", quantities compare by value
    want_resources["resources"] = at(doc, "spec.resources");
    EXPECT_TRUE(workerjob::contains(live_resources, want_resources))
        << "resources: want " << at(doc, "spec.resources").serialize() << ", got " << at(c, "resources").serialize();
    EXPECT_EQ(at(c, "ports.0.containerPort"), value::number(8080));
    EXPECT_EQ(at(c, "ports.0.name"), value::string("http"));
    EXPECT_EQ(at(c, "livenessProbe.httpGet.path"), value::string("/healthz"));
    EXPECT_EQ(at(c, "readinessProbe.httpGet.path"), value::string("/readyz"));
    EXPECT_EQ(at(c, "terminationMessagePolicy"), value::string("FallbackToLogsOnError"));
    EXPECT_EQ(at(c, "securityContext.allowPrivilegeEscalation"), value::boolean(false));
    EXPECT_EQ(at(c, "securityContext.readOnlyRootFilesystem"), value::boolean(true));
    EXPECT_EQ(at(c, "securityContext.capabilities.drop.0"), value::string("ALL"));
    EXPECT_EQ(at(d, "spec.template.spec.securityContext.runAsNonRoot"), value::boolean(true));
    EXPECT_EQ(at(d, "spec.template.spec.securityContext.seccompProfile.type"), value::string("RuntimeDefault"));

    // Everything the renderer wants is on the live object.
    const auto parsed = api::parse_workerjob(wj);
    ASSERT_TRUE(parsed.ok()) << parsed.error_text();
    const auto rendered = workerjob::render(*parsed.value, {wo::image_of("worker")});
    ASSERT_TRUE(rendered.ok());
    EXPECT_TRUE(workerjob::contains(d, rendered.value->deployment)) << d.serialize();

    // Status caught up with this generation.
    EXPECT_TRUE(wait_until(
        [&] {
          const value s = get("workerjob", name);
          return at(s, "status.observedGeneration") == at(s, "metadata.generation") &&
                 at(s, "status.deployment") == value::string(name);
        },
        kConverge, kPollInterval))
        << get("workerjob", name).serialize();
  }

  const auto table = kubectl({"get", "wj", "-n", ns()});
  ASSERT_TRUE(table.ok()) << table.err;
  for (const char* column : {"JOB", "READY", "STATUS", "AGE"}) {
    EXPECT_NE(table.out.find(column), std::string::npos) << "kubectl get wj lacks " << column << ":\n" << table.out;
  }
}

TEST_F(OperatorTest, HandEditsOfTheDeploymentAreReverted) {
  kubectl_apply(workerjob("edited", "campaigns.reconciler").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "edited"); }, kConverge, kPollInterval));
  const auto patch =
      kubectl({"patch", "deployment", "edited", "-n", ns(), "--type=json", "-p",
               R"([{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"900M"},
                                  {"op":"replace","path":"/spec/template/spec/containers/0/args","value":["--job=other"]}])"});
  ASSERT_TRUE(patch.ok()) << patch.err;
  EXPECT_TRUE(wait_until(
      [&] {
        return container_field("edited", "resources.limits.memory") == "500M" &&
               container_field("edited", "args") == R"(["--job=campaigns.reconciler","--shutdown-timeout=25s"])";
      },
      kConverge, kPollInterval))
      << "memory limit and args should be put back; have " << container_field("edited", "resources.limits.memory")
      << " " << container_field("edited", "args");
}

// Its managed-by label removed by hand, the Deployment is still the WorkerJob's (its controller owner
// reference): the operator's cache keeps it whole (workerjob/cache.h), finds the label missing and puts it
// back, as it puts back any other hand edit.
TEST_F(OperatorTest, ARemovedManagedByLabelIsPutBack) {
  kubectl_apply(workerjob("relabelled", "campaigns.reconciler").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "relabelled"); }, kConverge, kPollInterval));
  const auto unlabel = kubectl({"label", "deployment", "relabelled", "-n", ns(), "app.kubernetes.io/managed-by-"});
  ASSERT_TRUE(unlabel.ok()) << unlabel.err;
  metadata_edits_ = 1;
  EXPECT_TRUE(wait_until(
      [&] {
        const value labels = at(get("deployment", "relabelled"), "metadata.labels");
        return labels.has_field("app.kubernetes.io/managed-by") &&
               labels.at("app.kubernetes.io/managed-by") == value::string("worker-operator");
      },
      kConverge, kPollInterval))
      << get("deployment", "relabelled").serialize();
}

TEST_F(OperatorTest, ChangingResourcesRollsTheDeployment) {
  kubectl_apply(workerjob("res", "campaigns.reconciler").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "res"); }, kConverge, kPollInterval));
  const auto patch = kubectl({"patch", "wj", "res", "-n", ns(), "--type=merge", "-p",
                              R"({"spec":{"resources":{"limits":{"memory":"700M"}}}})"});
  ASSERT_TRUE(patch.ok()) << patch.err;
  EXPECT_TRUE(
      wait_until([&] { return container_field("res", "resources.limits.memory") == "700M"; }, kConverge, kPollInterval))
      << container_field("res", "resources.limits.memory");
}

TEST_F(OperatorTest, ChangingConfigRollsThePods) {
  kubectl_apply(workerjob("cfg", "campaigns.reconciler", R"({"batch":10})").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("configmap", "cfg-config") && exists("deployment", "cfg"); }, kConverge,
                         kPollInterval));
  const auto hash = [&] { return at(get("deployment", "cfg"), "spec.template.metadata.annotations").serialize(); };
  const std::string before = hash();
  EXPECT_NE(before.find("worker.dev/config-hash"), std::string::npos) << before;
  const value cm = get("configmap", "cfg-config");
  EXPECT_NE(at(cm, "data").serialize().find("batch"), std::string::npos) << cm.serialize();
  const auto patch =
      kubectl({"patch", "wj", "cfg", "-n", ns(), "--type=merge", "-p", R"({"spec":{"config":{"batch":20}}})"});
  ASSERT_TRUE(patch.ok()) << patch.err;
  EXPECT_TRUE(wait_until([&] { return hash() != before; }, kConverge, kPollInterval))
      << "the pod template's config hash should change";
  EXPECT_NE(at(get("configmap", "cfg-config"), "data").serialize().find("20"), std::string::npos);
}

TEST_F(OperatorTest, ScaleAndPause) {
  kubectl_apply(workerjob("scaled", "campaigns.reconciler").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "scaled"); }, kConverge, kPollInterval));
  const auto scale = kubectl({"scale", "wj", "scaled", "-n", ns(), "--replicas=2"});
  ASSERT_TRUE(scale.ok()) << scale.err;
  EXPECT_TRUE(wait_until([&] { return at(get("deployment", "scaled"), "spec.replicas") == value::number(2); },
                         kConverge, kPollInterval));

  const auto pause =
      kubectl({"patch", "wj", "scaled", "-n", ns(), "--type=merge", "-p", R"({"spec":{"paused":true}})"});
  ASSERT_TRUE(pause.ok()) << pause.err;
  EXPECT_TRUE(wait_until(
      [&] {
        const value wj = get("workerjob", "scaled");
        return at(get("deployment", "scaled"), "spec.replicas") == value::number(0) &&
               wj.serialize().find(R"("reason":"Paused")") != std::string::npos;
      },
      kConverge, kPollInterval))
      << get("workerjob", "scaled").serialize();
  EXPECT_TRUE(exists("deployment", "scaled")) << "a paused job keeps its Deployment";
}

// An autoscaler (KEDA, an HPA; docs/scaling.md) writes the WorkerJob's scale subresource, never the
// Deployment the operator owns. The operator follows every step and never writes spec.replicas back, and
// a GitOps apply that leaves replicas out of its manifest does not reset the autoscaler's number.
TEST_F(OperatorTest, AnAutoscalerWritingTheScaleSubresourceIsFollowedNotFought) {
  value wj = workerjob("autoscaled", "campaigns.reconciler");
  wj["spec"].erase("replicas");  // as in Git: the number is the autoscaler's
  const auto gitops_apply = [&] {
    const auto r = kubectl({"apply", "--server-side", "--field-manager=gitops", "-f", "-"}, wj.serialize());
    ASSERT_TRUE(r.ok()) << r.err;
  };
  gitops_apply();
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "autoscaled"); }, kConverge, kPollInterval));
  const std::string scale_path = "/apis/worker.dev/v1alpha1/namespaces/" + ns() + "/workerjobs/autoscaled/scale";
  for (const int replicas : {3, 0, 2, 0}) {
    const auto step = kubectl({"patch", "wj", "autoscaled", "-n", ns(), "--subresource=scale", "--type=merge", "-p",
                               R"({"spec":{"replicas":)" + std::to_string(replicas) + "}}"});
    ASSERT_TRUE(step.ok()) << step.err;
    EXPECT_TRUE(
        wait_until([&] { return at(get("deployment", "autoscaled"), "spec.replicas") == value::number(replicas); },
                   kConverge, kPollInterval))
        << "the Deployment should follow the autoscaler to " << replicas;
    EXPECT_EQ(at(get("workerjob", "autoscaled"), "spec.replicas"), value::number(replicas))
        << "the operator must not write spec.replicas back";
    // What the autoscaler reads: the number it wrote (a Scale omits a zero), and the pods' selector.
    const value scale = value::parse(kubectl({"get", "--raw", scale_path}).out);
    const value read = at(scale, "spec.replicas");
    EXPECT_EQ(read.is_null() ? 0 : read.as_integer(), replicas) << scale.serialize();
    EXPECT_FALSE(at(scale, "status.selector").as_string().empty()) << scale.serialize();
  }
  gitops_apply();  // a sync of the Git manifest, which has no replicas
  EXPECT_EQ(at(get("workerjob", "autoscaled"), "spec.replicas"), value::number(0));
  EXPECT_EQ(at(get("deployment", "autoscaled"), "spec.replicas"), value::number(0));
  const value with_managers = kubectl_json({"get", "workerjob", "autoscaled", "-n", ns(), "--show-managed-fields"});
  const value managers = at(with_managers, "metadata.managedFields");  // named: at() returns a copy
  ASSERT_TRUE(managers.is_array()) << with_managers.serialize();
  for (const auto& entry : managers.as_array()) {
    if (entry.at("manager").as_string() != "worker-operator") continue;
    EXPECT_EQ(entry.serialize().find("f:spec"), std::string::npos)
        << "the operator owns fields of the WorkerJob's spec: " << entry.serialize();
  }
}

TEST_F(OperatorTest, DeletingTheWorkerJobRemovesWhatItOwned) {
  kubectl_apply(workerjob("gone", "campaigns.reconciler", R"({"a":1})").serialize());
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "gone") && exists("configmap", "gone-config"); }, kConverge,
                         kPollInterval));
  const auto del = kubectl({"delete", "wj", "gone", "-n", ns()});
  ASSERT_TRUE(del.ok()) << del.err;
  EXPECT_TRUE(wait_until([&] { return !exists("deployment", "gone") && !exists("configmap", "gone-config"); }, 60s,
                         kPollInterval))
      << "the garbage collector should remove the Deployment and ConfigMap";
}

TEST_F(OperatorTest, ADeploymentItDoesNotOwnIsNeverTouched) {
  const auto create = kubectl({"create", "deployment", "taken", "-n", ns(), "--image=example.invalid/app:1"});
  ASSERT_TRUE(create.ok()) << create.err;
  kubectl_apply(workerjob("taken", "campaigns.reconciler").serialize());
  EXPECT_TRUE(wait_until(
      [&] { return get("workerjob", "taken").serialize().find(R"("reason":"NameConflict")") != std::string::npos; },
      kConverge, kPollInterval))
      << get("workerjob", "taken").serialize();
  const value d = get("deployment", "taken");
  EXPECT_TRUE(at(d, "metadata.ownerReferences").is_null()) << "the foreign Deployment must not be adopted";
  EXPECT_EQ(at(d, "spec.template.spec.containers.0.image"), value::string("example.invalid/app:1"));
}

TEST_F(OperatorTest, KubectlWaitForReadyWorks) {
  kubectl_apply(workerjob("idle", "demo.sleep").serialize());
  const auto wait = kubectl({"wait", "--for=condition=Ready", "--timeout=60s", "workerjob/idle", "-n", ns()});
  ASSERT_TRUE(wait.ok()) << wait.err << "\n" << describe_conditions(get("workerjob", "idle"));
  EXPECT_EQ(condition(get("workerjob", "idle"), "Ready").reason, "ScaledToZero");
  const auto row = kubectl({"get", "wj", "idle", "-n", ns(), "--no-headers"});
  ASSERT_TRUE(row.ok()) << row.err;
  EXPECT_NE(row.out.find("demo.sleep"), std::string::npos) << row.out;
  EXPECT_NE(row.out.find("0/0"), std::string::npos) << row.out;
  EXPECT_NE(row.out.find("ScaledToZero"), std::string::npos) << row.out;
}

// Real pods of the worker image fail at startup: an unknown job and a config the job refuses. The
// worker writes the reason to its termination message; the operator reports it on the failing
// WorkerJob only, as conditions, lastFailure and a Warning Event, and announces the recovery.
TEST_F(OperatorTest, FailingPodsAreReportedFromTheirTerminationMessage) {
  value unknown = workerjob("unknown", "no.such-job");
  unknown["spec"]["replicas"] = value::number(1);
  value refused = workerjob("refused", "demo.sleep", R"({"table":"t","concurrency":"lots"})");
  refused["spec"]["replicas"] = value::number(1);
  kubectl_apply(unknown.serialize() + "\n" + refused.serialize() + "\n" +
                workerjob("bystander", "demo.sleep").serialize());

  constexpr auto kPodFailure = 180s;  // image start, first exit, status round trip
  for (const auto& [name, reason] : {std::pair{"unknown", "UnknownJob"}, std::pair{"refused", "InvalidConfig"}}) {
    const bool reported = wait_until(
        [&, name = name, reason = reason] { return live_condition(ns(), name, "Degraded").reason == reason; },
        kPodFailure, kPollInterval);
    const value wj = get("workerjob", name);
    ASSERT_TRUE(reported) << name << ": want Degraded/" << reason << " within " << kPodFailure.count() << " s, have\n"
                          << describe_conditions(wj) << "pods: " << pods_of(ns(), name).serialize();
    EXPECT_EQ(condition(wj, "Degraded").status, "True");
    EXPECT_EQ(condition(wj, "Ready").status, "False");
    EXPECT_EQ(condition(wj, "Ready").reason, reason) << "the STATUS column shows the failure";
    EXPECT_EQ(at(wj, "status.lastFailure.reason"), value::string(reason));
    EXPECT_TRUE(wait_until(
        [&, name = name, reason = reason] {
          const auto events = events_of(ns(), name);
          return has_event(events, "DeploymentCreated") && has_event(events, reason);
        },
        kConverge, kPollInterval))
        << name << " events:\n"
        << describe_events(events_of(ns(), name));
  }
  const auto unknown_message = condition(get("workerjob", "unknown"), "Degraded").message;
  EXPECT_NE(unknown_message.find("no.such-job"), std::string::npos) << unknown_message;
  EXPECT_NE(condition(get("workerjob", "bystander"), "Degraded").status, "True")
      << "a failing WorkerJob disturbs no other:\n"
      << describe_conditions(get("workerjob", "bystander"));

  // Scaled to zero, no pod fails any more: Degraded clears, lastFailure stays, a Recovered Event says so.
  const auto scale = kubectl({"scale", "wj", "unknown", "-n", ns(), "--replicas=0"});
  ASSERT_TRUE(scale.ok()) << scale.err;
  EXPECT_TRUE(wait_until([&] { return live_condition(ns(), "unknown", "Degraded").status == "False"; }, kPodFailure,
                         kPollInterval))
      << describe_conditions(get("workerjob", "unknown"));
  EXPECT_EQ(at(get("workerjob", "unknown"), "status.lastFailure.reason"), value::string("UnknownJob"));
  EXPECT_TRUE(wait_until([&] { return has_event(events_of(ns(), "unknown"), "Recovered"); }, kConverge, kPollInterval))
      << describe_events(events_of(ns(), "unknown"));
}

TEST_F(OperatorTest, KilledDuringABurstOfChangesItConvergesAfterRestart) {
  constexpr int kJobs = 10, kChanges = 100;
  std::string manifests;
  for (int i = 0; i < kJobs; ++i)
    manifests += workerjob("burst-" + std::to_string(i), "campaigns.reconciler").serialize() + "\n";
  kubectl_apply(manifests);
  // 100 changes spread over the jobs; the operator is killed with SIGKILL halfway through.
  std::vector<int> final_memory(kJobs, 500);
  for (int change = 0; change < kChanges; ++change) {
    const int job = change % kJobs;
    final_memory[job] = 200 + change;
    const auto patch =
        kubectl({"patch", "wj", "burst-" + std::to_string(job), "-n", ns(), "--type=merge", "-p",
                 R"({"spec":{"resources":{"limits":{"memory":")" + std::to_string(final_memory[job]) + R"(M"}}}})"});
    ASSERT_TRUE(patch.ok()) << patch.err;
    if (change == kChanges / 2) operator_->kill9();
  }
  operator_->start();
  for (int i = 0; i < kJobs; ++i) {
    const std::string name = "burst-" + std::to_string(i);
    const std::string want = std::to_string(final_memory[i]) + "M";
    EXPECT_TRUE(wait_until(
        [&] {
          const value wj = get("workerjob", name);
          return container_field(name, "resources.limits.memory") == want &&
                 at(wj, "status.observedGeneration") == at(wj, "metadata.generation");
        },
        60s, kPollInterval))
        << name << ": want memory limit " << want << ", have " << container_field(name, "resources.limits.memory");
  }
  // No duplicates: exactly one Deployment per WorkerJob, each with one controller owner.
  const value deployments = kubectl_json({"get", "deployments", "-n", ns()});
  EXPECT_EQ(deployments.at("items").size(), static_cast<size_t>(kJobs));
  for (const auto& d : deployments.at("items").as_array()) {
    EXPECT_EQ(at(d, "metadata.ownerReferences").size(), 1u) << d.at("metadata").serialize();
  }
}

}  // namespace
}  // namespace wo::e2e
