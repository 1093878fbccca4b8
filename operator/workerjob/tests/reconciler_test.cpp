// The reconciler against an API server of the test's own, with caches filled by hand: which requests a
// WorkerJob costs. A new WorkerJob costs an apply and no GET (the Deployment and ConfigMap caches hold
// every object, others' as stubs), and a name taken by someone else is still found, in the cache.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "fake_api_server.h"
#include "kube/object.h"
#include "workerjob/cache.h"
#include "workerjob/controller.h"

namespace wo::workerjob {
namespace {

using web::http::http_request;
using web::http::methods;
using web::http::status_codes;
using web::json::value;

// Answers applies with the applied object (given a uid and resourceVersion), status patches and Event
// writes with an empty object, and anything else (a GET) with 404; records every request.
class RecordingApi {
 public:
  explicit RecordingApi(kube::testing::Pki& pki) : server_(pki, [this](const http_request& rq) { answer(rq); }) {}
  kube::Config config() const { return server_.config(); }
  void close() { server_.close(); }
  // "GET /apis/apps/v1/namespaces/ns/deployments/name", with the body for PATCHes.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool any(const std::string& prefix) const {
    for (const auto& r : requests()) {
      if (r.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }

 private:
  void answer(const http_request& rq) {
    http_request copy = rq;  // extract_string() is not const; the copy shares the message
    const std::string body = copy.extract_string(true).get();  // true: an apply-patch+yaml body too
    const std::string path = rq.request_uri().path();
    {
      std::lock_guard lock(mu_);
      requests_.push_back(rq.method() + " " + path + (body.empty() ? "" : " " + body));
    }
    if (rq.method() == methods::PATCH && path.find("/status") == std::string::npos &&
        path.find("/events") == std::string::npos) {
      value applied = value::parse(body);
      applied["metadata"]["uid"] = value::string("uid-of-" + kube::meta_string(applied, "name"));
      applied["metadata"]["resourceVersion"] = value::string(std::to_string(++version_));
      applied["metadata"]["generation"] = value::number(version_);
      rq.reply(status_codes::OK, applied);
    } else if (rq.method() == methods::PATCH || rq.method() == methods::POST) {
      rq.reply(status_codes::OK, value::object());
    } else {
      rq.reply(status_codes::NotFound, kube::testing::status(404, "NotFound", "not found"));
    }
  }

  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  int version_ = 100;                    // the resourceVersion and generation of the next apply's answer
  kube::testing::FakeApiServer server_;  // last: it calls answer() until it is closed
};

value workerjob(bool with_config = false) {
  return value::parse(std::string(R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob",
    "metadata":{"name":"rec","namespace":"campaigns","uid":"u1","generation":1,"resourceVersion":"10"},
    "spec":{"job":"campaigns.reconciler","replicas":1)") +
                      (with_config ? R"(,"config":{"batch":5}})" : "}") + "}");
}

// A Deployment or ConfigMap of someone else, as the cache keeps it.
value foreign(const std::string& kind, const std::string& name) {
  const value raw = value::parse(R"({"apiVersion":"v1","kind":")" + kind + R"(","metadata":{"name":")" + name +
                                 R"(","namespace":"campaigns","uid":"theirs","resourceVersion":"3",
      "labels":{"app":"theirs"}},"spec":{"replicas":2},"data":{"k":"v"}})");
  return kind == "Deployment" ? deployment_projection()(raw) : configmap_projection()(raw);
}

class Reconciler : public ::testing::Test {
 protected:
  Reconciler() {
    replicasets.add_index(std::string(kByControllerIndex), kube::index_by_controller_owner_uid());
    pods.add_index(std::string(kByControllerIndex), kube::index_by_controller_owner_uid());
  }
  ~Reconciler() override {
    events.stop();
    api.close();  // before the client goes (FakeApiServer::close)
  }
  // One reconcile of the WorkerJob "campaigns/rec"; the reconciler's memos persist across calls.
  void reconcile() { reconciler.reconcile({"campaigns", "rec"}, {}); }
  // The Deployment the reconciler renders for workerjob(), as the API server would return it.
  value rendered_deployment() {
    const auto parsed = api::parse_workerjob(workerjob());
    EXPECT_TRUE(parsed.ok()) << parsed.error_text();
    const auto rendered = render(*parsed.value, RenderOptions{"worker:1"});
    EXPECT_TRUE(rendered.ok()) << rendered.error_text();
    value live = rendered.value->deployment;
    live["metadata"]["uid"] = value::string("d-1");
    live["metadata"]["resourceVersion"] = value::string("7");
    live["metadata"]["generation"] = value::number(2);
    return live;
  }
  // The requests that begin with `prefix`, with their bodies.
  std::vector<std::string> requests_to(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& r : api.requests()) {
      if (r.rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
  size_t deployment_applies() const {
    return requests_to("PATCH /apis/apps/v1/namespaces/campaigns/deployments/rec ").size();
  }
  std::vector<std::string> status_writes() const { return requests_to(kStatusPatch); }
  void cache(kube::Store& store, const value& object) { store.upsert(std::make_shared<const value>(object)); }

  kube::testing::TempDir dir;
  kube::testing::Pki pki{dir};
  RecordingApi api{pki};
  kube::Client client{api.config()};
  kube::Store workerjobs, deployments, configmaps, replicasets, pods;
  runtime::EventRecorder events{client};
  WorkerJobReconciler reconciler{
      client, {workerjobs, deployments, configmaps, replicasets, pods}, events, RenderOptions{"worker:1"}};
  static constexpr const char* kStatusPatch =
      "PATCH /apis/worker.dev/v1alpha1/namespaces/campaigns/workerjobs/rec/status";
};

TEST_F(Reconciler, ANewWorkerJobCostsAnApplyAndNoGet) {
  cache(workerjobs, workerjob(true));
  reconcile();
  EXPECT_TRUE(api.any("PATCH /api/v1/namespaces/campaigns/configmaps/rec-config"));
  EXPECT_TRUE(api.any("PATCH /apis/apps/v1/namespaces/campaigns/deployments/rec"));
  EXPECT_FALSE(api.any("GET ")) << ::testing::PrintToString(api.requests());
}

TEST_F(Reconciler, AForeignDeploymentInTheCacheIsANameConflict) {
  cache(workerjobs, workerjob());
  cache(deployments, foreign("Deployment", "rec"));
  reconcile();
  EXPECT_FALSE(api.any("PATCH /apis/apps/v1/namespaces/campaigns/deployments/rec"));
  EXPECT_FALSE(api.any("GET "));
  const auto writes = status_writes();
  ASSERT_EQ(writes.size(), 1U) << ::testing::PrintToString(api.requests());
  EXPECT_NE(writes[0].find("NameConflict"), std::string::npos) << writes[0];
}

TEST_F(Reconciler, AForeignConfigMapInTheCacheIsANameConflict) {
  cache(workerjobs, workerjob(true));
  cache(configmaps, foreign("ConfigMap", "rec-config"));
  reconcile();
  EXPECT_FALSE(api.any("PATCH /api/v1/namespaces/campaigns/configmaps/rec-config"));
  EXPECT_FALSE(api.any("PATCH /apis/apps/v1/namespaces/campaigns/deployments/rec"));
  EXPECT_FALSE(api.any("GET "));
}

// The operator's Deployment with its managed-by label edited away is still in the cache whole (its
// controller is the WorkerJob), and applied again: the apply puts the label back.
TEST_F(Reconciler, AnOwnedDeploymentWhoseLabelWasRemovedIsAppliedAgain) {
  cache(workerjobs, workerjob());
  value live = rendered_deployment();
  live["metadata"]["labels"].erase("app.kubernetes.io/managed-by");
  cache(deployments, deployment_projection()(live));
  reconcile();
  EXPECT_TRUE(api.any("PATCH /apis/apps/v1/namespaces/campaigns/deployments/rec"))
      << ::testing::PrintToString(api.requests());
  EXPECT_FALSE(api.any("GET "));
}

// The ReplicaSet of a new Deployment can reach the operator before the Deployment's own watch event: a
// reconcile then finds no Deployment in the cache, and must not create it a second time
// (OperatorTest.NormalisedValuesConvergeWithOneWrite counted 3 creations).
TEST_F(Reconciler, ACreationNotInTheCacheYetIsNotCreatedAgain) {
  cache(workerjobs, workerjob());
  reconcile();
  reconcile();
  EXPECT_EQ(deployment_applies(), 1U) << ::testing::PrintToString(api.requests());
}

// The reconcile that creates the Deployment writes the status too, from the apply's answer: the user
// sees the generation acted on at once, not after the Deployment controller, which on a busy cluster is
// seconds behind (make bench: every WorkerJob waited for it).
TEST_F(Reconciler, TheStatusIsWrittenInTheReconcileThatCreatesTheDeployment) {
  cache(workerjobs, workerjob());
  reconcile();
  ASSERT_EQ(deployment_applies(), 1U);
  const auto writes = status_writes();
  ASSERT_EQ(writes.size(), 1U) << ::testing::PrintToString(api.requests());
  const value status = value::parse(writes[0].substr(writes[0].find(' ', std::string(kStatusPatch).size()) + 1));
  EXPECT_EQ(status.at("status").at("observedGeneration").as_integer(), 1);
  EXPECT_EQ(status.at("status").at("deployment").as_string(), "rec");
}

// The new Deployment's watch event reconciles again milliseconds after the status write, while the cached
// WorkerJob still has the status from before it: the same status is not written a second time.
TEST_F(Reconciler, AStatusNotInTheCacheYetIsNotWrittenAgain) {
  cache(workerjobs, workerjob());
  reconcile();
  ASSERT_EQ(status_writes().size(), 1U) << ::testing::PrintToString(api.requests());
  value created = rendered_deployment();  // the creation reaches the cache, the status write not yet
  created["metadata"]["uid"] = value::string("uid-of-rec");
  created["metadata"]["resourceVersion"] = value::string("101");
  created["metadata"]["generation"] = value::number(101);
  cache(deployments, deployment_projection()(created));
  reconcile();
  EXPECT_EQ(status_writes().size(), 1U) << ::testing::PrintToString(api.requests());
  EXPECT_EQ(deployment_applies(), 1U);
}

// A hand edit is put back; the versions the Deployment controller wrote on the edited spec before that
// (status updates, same generation) reach the cache after the write and must not be reverted again: each
// would be an apply for nothing (OperatorTest.HandEditsOfTheDeploymentAreReverted counts writes per change
// and caught it). A later edit, of a higher generation, is put back again.
TEST_F(Reconciler, VersionsOlderThanItsOwnWriteAreNotRevertedAgain) {
  cache(workerjobs, workerjob());
  value edited = rendered_deployment();
  edited["metadata"]["uid"] = value::string("uid-of-rec");  // the uid the fake API's answers carry
  edited["spec"]["template"]["spec"]["containers"][0]["image"] = value::string("someone/else:1");
  cache(deployments, deployment_projection()(edited));
  reconcile();
  ASSERT_EQ(deployment_applies(), 1U) << ::testing::PrintToString(api.requests());

  value stale = edited;  // the Deployment controller's status write on the edited spec, before the revert
  stale["metadata"]["resourceVersion"] = value::string("8");
  cache(deployments, deployment_projection()(stale));
  reconcile();
  EXPECT_EQ(deployment_applies(), 1U) << "a version older than the revert was applied again";

  value edited_again = stale;  // someone edits it again after the revert: a new generation
  edited_again["metadata"]["resourceVersion"] = value::string("205");
  edited_again["metadata"]["generation"] = value::number(200);
  cache(deployments, deployment_projection()(edited_again));
  reconcile();
  EXPECT_EQ(deployment_applies(), 2U) << "a new hand edit must be put back";
}

}  // namespace
}  // namespace wo::workerjob
