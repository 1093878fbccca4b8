// The user story "the API server is restarted": the deployed operator (fixture `deployed_operator`)
// loses its watches and its Lease renewals for a while, then resumes and reconciles a change made as
// soon as the API server is back, and all its replicas are Ready again. Its own ctest entry, run alone: the restart
// disturbs every other test.
//
// The restart: $WO_E2E_RESTART_APISERVER (a shell command), else hack/restart-apiserver.sh for the
// local cluster; on another cluster without that variable the story is skipped.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "support/cluster.h"
#include "support/deployed_operator.h"
#include "support/workerjobs.h"

namespace wo::e2e {
namespace {

using web::json::value;
using namespace std::chrono_literals;

std::string restart_command() {
  const char* command = std::getenv("WO_E2E_RESTART_APISERVER");  // NOLINT(concurrency-mt-unsafe): one thread
  if (command != nullptr && *command != '\0') return command;
  const char* kubeconfig = std::getenv("KUBECONFIG");  // NOLINT(concurrency-mt-unsafe): one thread
  std::error_code ec;
  if (kubeconfig != nullptr && *kubeconfig != '\0' &&
      !std::filesystem::equivalent(kubeconfig, source_dir() + "/.cluster/kubeconfig", ec)) {
    return "";
  }
  return source_dir() + "/hack/restart-apiserver.sh";
}

TEST(ApiServerRestartStory, TheOperatorResumesAndReconcilesAChangeMadeMeanwhile) {
  const std::string restart = restart_command();
  if (restart.empty()) GTEST_SKIP() << "not the local cluster: set WO_E2E_RESTART_APISERVER to restart its API server";

  TestNamespace ns("restart");
  const auto applies_before = deployed_operator_applies();
  kubectl_apply(workerjob_manifest(ns.name(), "steady", "demo.sleep").serialize());
  ASSERT_TRUE(wait_until(
      [&] {
        return kubectl({"get", "deployment", "steady", "-n", ns.name()}).ok();
      },
      60s, kPollInterval));
  const int restarts_before = operator_restarts();

  const auto r = run({"bash", "-c", restart});
  ASSERT_TRUE(r.ok()) << restart << " failed (" << r.exit_code << "): " << r.out << r.err;
  std::cout << r.out;

  // The change, as soon as the API server takes writes again.
  ASSERT_TRUE(wait_until(
      [&] {
        return kubectl({"patch", "wj", "steady", "-n", ns.name(), "--type=merge", "-p",
                        R"({"spec":{"resources":{"limits":{"memory":"160Mi"}}}})"})
            .ok();
      },
      60s, kPollInterval))
      << "the API server took no write within 60 s of its restart";
  // The operator's watches back off up to 30 s while the server is away, its Lease (15 s) may have
  // lapsed and be taken again, and a watch left hung by the restart is noticed after 150 s of silence
  // (kube::ClientOptions::watch_timeout).
  value deployment;
  value workerjob;
  EXPECT_TRUE(wait_until(
      [&] {
        deployment = kubectl_json({"get", "deployment", "steady", "-n", ns.name()});
        workerjob = kubectl_json({"get", "workerjob", "steady", "-n", ns.name()});
        return at(deployment, "spec.template.spec.containers.0.resources.limits.memory") == value::string("160Mi") &&
               at(workerjob, "status.observedGeneration") == at(workerjob, "metadata.generation");
      },
      240s, kPollInterval))
      << "expected the change to reach the Deployment and the status after the restart; saw Deployment "
      << at(deployment, "spec.template.spec.containers.0.resources").serialize() << ", WorkerJob "
      << at(workerjob, "metadata.generation") << " / status " << at(workerjob, "status.observedGeneration") << "\n"
      << operator_logs(200);
  EXPECT_FALSE(operator_leader_identity().empty()) << "someone leads again";
  // A leader that could not renew its Lease within the renew deadline (10 s) steps down by exiting, as
  // controller-runtime's managers do, and the kubelet restarts it as a fresh candidate; the operator as
  // a whole is back at full strength once that candidate is Ready.
  EXPECT_TRUE(wait_until(
      [] {
        const value d = kubectl_json({"get", "deployment", "worker-operator", "-n", kOperatorNamespace});
        return at(d, "status.readyReplicas") == at(d, "spec.replicas");
      },
      120s, kPollInterval))
      << "expected every operator replica Ready again\n"
      << operator_logs();
  std::cout << "operator container restarts during the story: " << operator_restarts() - restarts_before << "\n";

  // A restart costs no extra write: at most one Deployment write per change (a pod restarted meanwhile
  // counts from zero).
  const WritesAndChanges count = deployment_writes_since(applies_before, ns.name());
  ASSERT_TRUE(count.changes) << "the story deletes no Deployment";
  EXPECT_LE(count.writes, *count.changes) << "the operator applied the Deployment more often than it changed";
}

}  // namespace
}  // namespace wo::e2e
