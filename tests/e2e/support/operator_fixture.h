// The fixture of the tests that run the operator as a process of their own: a namespace per test, the
// operator watching only it, and readers for what the tests look at.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "support/cluster.h"
#include "support/workerjobs.h"

namespace wo::e2e {

using namespace std::chrono_literals;

constexpr auto kConverge = 30s;

class OperatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    install_crd();
    // A deployed operator watches every namespace: it would reconcile these tests' WorkerJobs too.
    const auto deployed = kubectl(
        {"get", "deployment", "worker-operator", "-n", "worker-operator-system", "-o", "jsonpath={.spec.replicas}"});
    if (deployed.ok() && !deployed.out.empty() && deployed.out != "0") {
      deployed_operator_ =
          "the operator is deployed in this cluster (worker-operator-system/worker-operator) and would reconcile "
          "these tests' WorkerJobs as well; run make undeploy first";
    }
  }
  static inline std::string deployed_operator_;

  void SetUp() override {
    ASSERT_TRUE(deployed_operator_.empty()) << deployed_operator_;
    ns_ = std::make_unique<TestNamespace>("op");
    operator_ = std::make_unique<OperatorProcess>(ns_->name());
    operator_->start();
  }

  void TearDown() override {
    if (!operator_) return;  // SetUp stopped early
    if (operator_->running()) expect_at_most_one_deployment_write_per_change();
    if (HasFailure()) std::cerr << "operator log (tail):\n" << operator_->log_tail() << "\n";
    const int code = operator_->stop();
    EXPECT_EQ(code, 0) << "the operator should exit 0 on SIGTERM\n" << operator_->log_tail();
    ns_.reset();
  }

  const std::string& ns() const { return ns_->name(); }

  // Edits a test made to its Deployments' metadata only: generation does not count them, yet putting
  // them back is a write.
  int metadata_edits_ = 0;

  // Every test, whatever it did: the operator's successful Deployment applies (its request metrics, a
  // server no-op included) are at most the changes its Deployments went through. Skipped when a Deployment
  // was deleted during the test (its generations are gone) or the operator restarted (its counts are).
  void expect_at_most_one_deployment_write_per_change() {
    try {
      // The metrics first: a write counted there has already raised its Deployment's generation.
      const double writes = deployment_applies(operator_->metrics());
      const auto changes = deployment_changes(ns());
      if (!changes) return;
      EXPECT_LE(writes, *changes + metadata_edits_)
          << "the operator applied its Deployments more often than they changed";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot count the operator's Deployment writes: " << e.what();
    }
  }

  // A WorkerJob manifest with the test's namespace and, when given, spec.config (JSON object text).
  web::json::value workerjob(const std::string& name, const std::string& job, const std::string& config = "") {
    web::json::value wj = workerjob_manifest(ns(), name, job);
    if (!config.empty()) wj["spec"]["config"] = web::json::value::parse(config);
    return wj;
  }

  web::json::value get(const std::string& kind, const std::string& name) {
    return kubectl_json({"get", kind, name, "-n", ns()});
  }

  bool exists(const std::string& kind, const std::string& name) {
    return kubectl({"get", kind, name, "-n", ns()}).ok();
  }

  std::string container_field(const std::string& name, const std::string& path) {
    const web::json::value c = at(get("deployment", name), "spec.template.spec.containers.0." + path);
    return c.is_string() ? c.as_string() : c.serialize();
  }

  std::unique_ptr<TestNamespace> ns_;
  std::unique_ptr<OperatorProcess> operator_;
};

}  // namespace wo::e2e
