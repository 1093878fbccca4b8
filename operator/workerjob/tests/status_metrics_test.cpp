#include "workerjob/status_metrics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "workerjob/cache.h"

namespace wo::workerjob {
namespace {

// A WorkerJob as the operator's cache holds it: through the informer's projection (status packed).
kube::ObjectPtr workerjob(const std::string& name, const std::string& ready, const std::string& reason,
                          const std::string& version = "") {
  auto o = web::json::value::parse(R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob",
      "metadata":{"namespace":"team","name":")" +
                                   name + R"("}})");
  if (!version.empty()) o["metadata"]["resourceVersion"] = web::json::value::string(version);
  if (!ready.empty()) {
    auto condition = web::json::value::object();
    condition["type"] = web::json::value::string("Ready");
    condition["status"] = web::json::value::string(ready);
    condition["reason"] = web::json::value::string(reason);
    o["status"]["conditions"] = web::json::value::array({condition});
  }
  return std::make_shared<const web::json::value>(workerjob_projection()(std::move(o)));
}

TEST(StatusMetrics, CountsWorkerJobsByReadyStatusAndReasonAtEveryScrape) {
  kube::Store store;
  metrics::Registry registry;
  register_status_metrics(registry, store);
  store.upsert(workerjob("a", "True", "Available"));
  store.upsert(workerjob("b", "True", "Available"));
  store.upsert(workerjob("c", "False", "OOMKilled"));
  store.upsert(workerjob("d", "", ""));  // not reconciled yet
  std::string text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="True",reason="Available"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="False",reason="OOMKilled"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="Unknown",reason=""} 1)"), std::string::npos) << text;

  // c recovers: its old combination reads 0 rather than a stale 1.
  store.upsert(workerjob("c", "True", "Available"));
  text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="True",reason="Available"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="False",reason="OOMKilled"} 0)"), std::string::npos) << text;
}

// A scrape parses only the WorkerJobs whose resourceVersion changed since the last one (their status is
// packed text in the cache). Shown here by a status swapped under an unchanged version, which the API server
// never does: the count stays what it was read as, until the version moves.
TEST(StatusMetrics, OnlyAChangedVersionIsReadAgain) {
  kube::Store store;
  metrics::Registry registry;
  register_status_metrics(registry, store);
  store.upsert(workerjob("a", "False", "CrashLoopBackOff", "7"));
  std::string text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="False",reason="CrashLoopBackOff"} 1)"), std::string::npos);
  store.upsert(workerjob("a", "True", "Available", "7"));
  text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="False",reason="CrashLoopBackOff"} 1)"), std::string::npos)
      << "version 7 was read already\n"
      << text;
  store.upsert(workerjob("a", "True", "Available", "8"));
  text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="True",reason="Available"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="False",reason="CrashLoopBackOff"} 0)"), std::string::npos);
  store.erase("team/a");
  text = registry.render();
  EXPECT_NE(text.find(R"(worker_operator_workerjobs{ready="True",reason="Available"} 0)"), std::string::npos) << text;
}

}  // namespace
}  // namespace wo::workerjob
