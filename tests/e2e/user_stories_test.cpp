// The user stories: what a platform team sees with the operator deployed in its cluster from the image
// (fixture `deployed_operator`), real worker pods from the worker image, and a Postgres of its own
// (a pod in the test's namespace). Each story runs in a namespace of its own, cleans up, and says on
// failure what it expected and what it saw.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/cluster.h"
#include "support/deployed_operator.h"
#include "support/postgres.h"
#include "support/workerjobs.h"

namespace wo::e2e {
namespace {

using web::json::value;
using namespace std::chrono_literals;

constexpr auto kPods = 180s;     // scheduling, container start, readiness, the status round trip
constexpr auto kConverge = 60s;  // a change the operator reconciles, without new pods
constexpr auto kProgress = 60s;  // for a processed count to grow
constexpr auto kSample = 10s;    // the neighbour's processed count is sampled this often

class UserStory : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = std::make_unique<TestNamespace>("story");
    db_ = std::make_unique<ClusterPostgres>(ns_->name());
    applies_before_ = deployed_operator_applies();
  }

  void TearDown() override {
    expect_at_most_one_deployment_write_per_change();
    if (HasFailure()) {
      std::cerr << "--- kubectl get wj,deploy,pods -n " << ns() << "\n"
                << kubectl({"get", "wj,deploy,pods", "-n", ns(), "-o", "wide"}).out << "--- operator logs\n"
                << operator_logs() << "\n";
    }
    db_.reset();
    ns_.reset();
  }

  const std::string& ns() const { return ns_->name(); }

  // Every story, whatever it did (and the deleting one before it deletes): the deployed operator's
  // successful Deployment applies since the story began are at most the changes the story's Deployments
  // went through. The stories hold the ctest resource lock deployed_operator_writes, so no other test's
  // Deployments count here. Skipped once a Deployment was deleted (its generations are gone).
  void expect_at_most_one_deployment_write_per_change() {
    if (applies_before_.empty()) return;  // SetUp failed on it
    try {
      const WritesAndChanges count = deployment_writes_since(applies_before_, ns());
      if (!count.changes) return;
      std::cout << "Deployment writes " << count.writes << ", changes " << *count.changes << "\n";
      EXPECT_LE(count.writes, *count.changes)
          << "the operator applied the story's Deployments more often than they changed";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot count the operator's Deployment writes: " << e.what();
    }
  }

  // demo.sleep on `table`, one replica: it enqueues produce_per_second records itself and processes
  // them, sleeping a little for each; extra_config adds or overrides keys (crash_after, leak_mb_per_second).
  value demo_job(const std::string& name, const std::string& memory_limit = "128Mi",
                 const value& extra_config = value::object()) {
    value wj = workerjob_manifest(ns(), name, "demo.sleep");
    wj["spec"]["replicas"] = value::number(1);
    wj["spec"]["resources"] = value::parse(R"({"requests":{"cpu":"50m","memory":"32Mi"},"limits":{"cpu":"500m"}})");
    wj["spec"]["resources"]["limits"]["memory"] = value::string(memory_limit);
    value env = value::object();
    env["name"] = value::string("WORKER_DATABASE_URL");
    env["value"] = value::string(db_->url());
    wj["spec"]["env"][0] = env;
    value config = value::parse(R"({"concurrency":2,"sleep":"20ms","produce_per_second":20})");
    config["table"] = value::string(name);
    for (const auto& [key, field] : extra_config.as_object()) config[key] = field;
    wj["spec"]["config"] = config;
    return wj;
  }

  void apply(const value& wj) { kubectl_apply(wj.serialize()); }

  void patch(const std::string& name, const std::string& merge_patch) {
    const auto r = kubectl({"patch", "wj", name, "-n", ns(), "--type=merge", "-p", merge_patch});
    ASSERT_TRUE(r.ok()) << "kubectl patch wj/" << name << " " << merge_patch << ": " << r.err;
  }

  value get(const std::string& kind, const std::string& name) { return kubectl_json({"get", kind, name, "-n", ns()}); }
  bool exists(const std::string& kind, const std::string& name) {
    return kubectl({"get", kind, name, "-n", ns()}).ok();
  }

  // What a failure message needs about a WorkerJob: its conditions and its pods.
  std::string seen(const std::string& name) {
    std::string conditions;
    try {
      conditions = describe_conditions(get("workerjob", name));
    } catch (const std::exception& e) {
      conditions = std::string("(unreadable: ") + e.what() + ")\n";
    }
    return "saw wj/" + name + ":\n" + conditions + describe_pods(ns(), name);
  }

  // `kubectl wait --for=condition=Ready`, as a user would.
  void wait_ready(const std::string& name) {
    const auto r = kubectl({"wait", "--for=condition=Ready", "--timeout=" + std::to_string(kPods.count()) + "s",
                            "wj/" + name, "-n", ns()});
    ASSERT_TRUE(r.ok()) << "expected wj/" << name << " Ready within " << kPods.count() << " s: " << r.err << seen(name);
  }

  // Waits until the job's processed count grows past `than`; returns the new count.
  long long wait_processed_more_than(const std::string& table, long long than) {
    long long now = -1;
    const bool grew = wait_until([&] { return (now = db_->completed(table)) > than; }, kProgress, kPollInterval);
    EXPECT_TRUE(grew) << "expected " << table << "'s completed records to grow past " << than << " within "
                      << kProgress.count() << " s; saw " << now << "\n"
                      << seen(table);
    return now;
  }

  std::string deployment_memory_limit(const std::string& name) {
    return at(get("deployment", name), "spec.template.spec.containers.0.resources.limits.memory").as_string();
  }

  std::unique_ptr<TestNamespace> ns_;
  std::unique_ptr<ClusterPostgres> db_;
  std::vector<OperatorPodApplies> applies_before_;
};

TEST_F(UserStory, ATeamAppliesAWorkerJobAndSeesItsRecordsProcessed) {
  apply(demo_job("orders"));
  wait_ready("orders");
  const auto row = kubectl({"get", "wj", "orders", "-n", ns(), "--no-headers"});
  ASSERT_TRUE(row.ok()) << row.err;
  EXPECT_NE(row.out.find("1/1"), std::string::npos) << "expected READY 1/1, saw: " << row.out;
  EXPECT_NE(row.out.find("Available"), std::string::npos) << "expected STATUS Available, saw: " << row.out;

  const long long first = wait_processed_more_than("orders", 0);
  wait_processed_more_than("orders", first);
}

// The on-call engineer's first look at a job: its status page, on a real worker pod through kubectl
// port-forward, in headless Chromium, shows the counts by state and the lag that `kubectl exec
// deploy/NAME -- worker queue stats -o json` gives, and plain `worker queue stats` prints a table in the
// pod. tests/e2e/status_page_test.sh does the comparing (it also runs against make demo's jobs by hand).
TEST_F(UserStory, TheStatusPageOfARealPodShowsWhatQueueStatsSays) {
  apply(demo_job("inspected"));
  wait_ready("inspected");
  wait_processed_more_than("inspected", 0);
  const auto r = run({"env", "NAMESPACE=" + ns(), "WORKERJOB=inspected", "KUBECTL=" + kubectl_path(),
                      source_dir() + "/tests/e2e/status_page_test.sh"});
  if (r.exit_code == 77) GTEST_SKIP() << r.out << r.err;
  EXPECT_TRUE(r.ok()) << "tests/e2e/status_page_test.sh exited " << r.exit_code << ":\n" << r.out << r.err;
  std::cout << r.out;
}

// The metric names the alerts and the dashboard use (manifests/monitoring/) that the project's binaries
// export; kube_* series come from kube-state-metrics and are not ours to check.
std::set<std::string> monitored_metric_names() {
  std::set<std::string> names;
  const std::regex name(
      R"(\b((?:worker|worker_operator|controller_runtime|leader_election|workqueue|rest_client|process)_[a-z0-9_]+))");
  for (const char* file : {"manifests/monitoring/rules.yaml", "manifests/monitoring/dashboard.json"}) {
    std::ifstream in(source_dir() + "/" + file);
    if (!in) throw std::runtime_error(std::string("cannot read ") + file);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it) {
      std::string metric = (*it)[1];
      for (const char* suffix : {"_bucket", "_count", "_sum"}) {
        const std::string s(suffix);
        if (metric.size() > s.size() && metric.compare(metric.size() - s.size(), s.size(), s) == 0) {
          metric.resize(metric.size() - s.size());
        }
      }
      names.insert(metric);
    }
  }
  return names;
}

// The families a /metrics text declares (# TYPE lines).
std::set<std::string> exported_families(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string hash, type, family;
    if (words >> hash >> type >> family && hash == "#" && type == "TYPE") out.insert(family);
  }
  return out;
}

std::string pod_metrics(const std::string& ns, const std::string& pod, int port) {
  const auto r = kubectl(
      {"get", "--raw", "/api/v1/namespaces/" + ns + "/pods/" + pod + ":" + std::to_string(port) + "/proxy/metrics"});
  if (!r.ok()) throw std::runtime_error("cannot scrape pod " + ns + "/" + pod + ": " + r.err);
  return r.out;
}

// The on-call view: every metric an alert or the dashboard names exists on a real worker pod or on the
// real operator, so a rename in the code cannot silently break an alert; and both follow Prometheus's
// naming conventions.
TEST_F(UserStory, EveryMetricTheAlertsAndTheDashboardNameIsExportedAndWellNamed) {
  apply(demo_job("watched"));
  wait_ready("watched");
  wait_processed_more_than("watched", 0);
  const value pods = kubectl_json({"get", "pods", "-n", ns(), "-l", "app.kubernetes.io/instance=watched"});
  ASSERT_FALSE(pods.at("items").as_array().size() == 0) << seen("watched");
  const std::string worker_pod = at(pods, "items.0.metadata.name").as_string();
  const std::string leader = pod_of_identity(operator_leader_identity());
  const std::string worker_text = pod_metrics(ns(), worker_pod, 8080);
  const std::string operator_text = pod_metrics(kOperatorNamespace, leader, 8080);

  // Prometheus's naming conventions (promtool check metrics: _total counters, base units, help texts).
  const std::string promtool = source_dir() + "/build/promtool/bin/promtool";  // the fixture `promtool`
  for (const auto& [what, text] :
       {std::pair{"worker pod " + worker_pod, worker_text}, std::pair{"operator pod " + leader, operator_text}}) {
    const auto lint = run({promtool, "check", "metrics"}, text);
    EXPECT_TRUE(lint.ok() && lint.out.empty() && lint.err.empty())
        << "promtool check metrics on the " << what << "'s /metrics (exit " << lint.exit_code << "):\n"
        << lint.out << lint.err;
  }

  std::set<std::string> exported = exported_families(worker_text);
  const std::set<std::string> from_operator = exported_families(operator_text);
  exported.insert(from_operator.begin(), from_operator.end());

  const std::set<std::string> wanted = monitored_metric_names();
  EXPECT_GE(wanted.size(), 10u) << "the manifests name fewer metrics than expected: is the pattern right?";
  for (const auto& metric : wanted) {
    EXPECT_TRUE(exported.count(metric) != 0)
        << metric << " is named in manifests/monitoring/ but exported by neither the worker pod " << worker_pod
        << " nor the operator pod " << leader;
  }
}

TEST_F(UserStory, ResourcesConfigScalingPausingAndDeletionDoWhatTheContractSays) {
  apply(demo_job("tuned"));
  wait_ready("tuned");
  const std::string first_pod = at(ready_pods_of(ns(), "tuned").at(0), "metadata.name").as_string();

  // Resources: the pod is replaced by one with the new limit.
  patch("tuned", R"({"spec":{"resources":{"limits":{"memory":"192Mi"}}}})");
  ASSERT_TRUE(wait_until(
      [&] {
        const auto pods = ready_pods_of(ns(), "tuned");
        if (pods.size() != 1 || pods_of(ns(), "tuned").size() != 1) return false;
        return at(pods[0], "spec.containers.0.resources.limits.memory") == value::string("192Mi");
      },
      kPods, kPollInterval))
      << "expected one Ready pod with a 192Mi memory limit\n"
      << seen("tuned");
  const std::string resized_pod = at(ready_pods_of(ns(), "tuned").at(0), "metadata.name").as_string();
  EXPECT_NE(resized_pod, first_pod);

  // Config: the ConfigMap changes and the pods roll.
  patch("tuned", R"({"spec":{"config":{"sleep":"10ms"}}})");
  ASSERT_TRUE(wait_until(
      [&] {
        const auto pods = ready_pods_of(ns(), "tuned");
        return pods.size() == 1 && pods_of(ns(), "tuned").size() == 1 &&
               at(pods[0], "metadata.name").as_string() != resized_pod;
      },
      kPods, kPollInterval))
      << "expected the pod to be replaced after the config change\n"
      << seen("tuned");
  const value config_data = at(get("configmap", "tuned-config"), "data");
  EXPECT_NE(config_data.serialize().find("10ms"), std::string::npos) << config_data.serialize();

  // Scaling: two ready replicas, both processing.
  const auto scale = kubectl({"scale", "wj/tuned", "-n", ns(), "--replicas=2"});
  ASSERT_TRUE(scale.ok()) << scale.err;
  ASSERT_TRUE(wait_until([&] { return at(get("workerjob", "tuned"), "status.readyReplicas") == value(2); }, kPods,
                         kPollInterval))
      << "expected status.readyReplicas 2\n"
      << seen("tuned");
  const auto row = kubectl({"get", "wj", "tuned", "-n", ns(), "--no-headers"});
  EXPECT_NE(row.out.find("2/2"), std::string::npos) << "expected READY 2/2, saw: " << row.out;
  wait_processed_more_than("tuned", db_->completed("tuned"));

  // Pausing: scaled to zero, the Deployment kept, status says Paused.
  patch("tuned", R"({"spec":{"paused":true}})");
  ASSERT_TRUE(wait_until(
      [&] { return pods_of(ns(), "tuned").size() == 0 && live_condition(ns(), "tuned", "Ready").reason == "Paused"; },
      kPods, kPollInterval))
      << "expected no pods and Ready=False/Paused\n"
      << seen("tuned");
  EXPECT_EQ(at(get("deployment", "tuned"), "spec.replicas"), value(0));

  expect_at_most_one_deployment_write_per_change();  // the last count: deletion takes the generations

  // Deletion: the Deployment and the ConfigMap go with the WorkerJob.
  const auto del = kubectl({"delete", "wj", "tuned", "-n", ns(), "--wait=true", "--timeout=60s"});
  ASSERT_TRUE(del.ok()) << del.err;
  EXPECT_TRUE(wait_until([&] { return !exists("deployment", "tuned") && !exists("configmap", "tuned-config"); },
                         kConverge, kPollInterval))
      << "expected the Deployment and ConfigMap tuned(-config) to be garbage-collected";
}

TEST_F(UserStory, ACrashingJobIsReportedWhileItsNeighbourKeepsProcessing) {
  apply(demo_job("steady"));
  wait_ready("steady");
  apply(demo_job("crashy", "128Mi", value::parse(R"({"crash_after":"3s"})")));

  // The neighbour's processed count is sampled through the whole window: until the crashing job is
  // reported as CrashLoopBackOff, and two intervals more.
  long long last = wait_processed_more_than("steady", 0);
  std::string samples = std::to_string(last);
  int intervals_after_report = -1;
  const auto deadline = std::chrono::steady_clock::now() + 2 * kPods;
  while (intervals_after_report < 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "expected wj/crashy Degraded/CrashLoopBackOff within " << (2 * kPods).count() << " s\n"
        << seen("crashy");
    std::this_thread::sleep_for(kSample);
    const long long now = db_->completed("steady");
    samples += " " + std::to_string(now);
    EXPECT_GT(now, last) << "the neighbour stopped processing during a " << kSample.count()
                         << " s interval; counts so far: " << samples;
    last = now;
    if (intervals_after_report >= 0) {
      ++intervals_after_report;
    } else if (live_condition(ns(), "crashy", "Degraded").reason == "CrashLoopBackOff") {
      intervals_after_report = 0;
    }
  }
  const value crashy = get("workerjob", "crashy");
  EXPECT_EQ(condition(crashy, "Degraded").status, "True") << seen("crashy");
  EXPECT_NE(at(crashy, "status.lastFailure.message").serialize().find("crashed on purpose"), std::string::npos)
      << "expected the termination message in lastFailure\n"
      << seen("crashy");
  EXPECT_GE(restarts_of(ns(), "crashy"), 1) << seen("crashy");
  EXPECT_EQ(restarts_of(ns(), "steady"), 0) << seen("steady");
  EXPECT_EQ(live_condition(ns(), "steady", "Ready").status, "True") << seen("steady");
  EXPECT_TRUE(has_event(events_of(ns(), "crashy"), "CrashLoopBackOff")) << describe_events(events_of(ns(), "crashy"));
  std::cout << "neighbour's completed records every " << kSample.count() << " s: " << samples << "\n";
}

TEST_F(UserStory, ALeakingJobIsOOMKilledAtItsLimitAndNeighboursAreUntouched) {
  apply(demo_job("steady"));
  wait_ready("steady");
  const long long before = db_->completed("steady");
  apply(demo_job("leaky", "64Mi", value::parse(R"({"leak_mb_per_second":32})")));

  ASSERT_TRUE(
      wait_until([&] { return live_condition(ns(), "leaky", "Degraded").reason == "OOMKilled"; }, kPods, kPollInterval))
      << "expected wj/leaky Degraded/OOMKilled within " << kPods.count() << " s\n"
      << seen("leaky");
  const value leaky = get("workerjob", "leaky");
  EXPECT_EQ(at(leaky, "status.lastFailure.reason"), value::string("OOMKilled")) << seen("leaky");
  EXPECT_EQ(condition(leaky, "Ready").reason, "OOMKilled") << "the STATUS column shows it";
  EXPECT_TRUE(has_event(events_of(ns(), "leaky"), "OOMKilled")) << describe_events(events_of(ns(), "leaky"));

  wait_processed_more_than("steady", before);
  EXPECT_EQ(restarts_of(ns(), "steady"), 0) << seen("steady");
  EXPECT_EQ(live_condition(ns(), "steady", "Ready").status, "True") << seen("steady");
  EXPECT_NE(live_condition(ns(), "steady", "Degraded").status, "True") << seen("steady");
}

TEST_F(UserStory, AnUnknownJobNameIsReported) {
  value typo = demo_job("typo");
  typo["spec"]["job"] = value::string("campaigns.reconciller");
  apply(typo);
  ASSERT_TRUE(
      wait_until([&] { return live_condition(ns(), "typo", "Degraded").reason == "UnknownJob"; }, kPods, kPollInterval))
      << "expected wj/typo Degraded/UnknownJob within " << kPods.count() << " s\n"
      << seen("typo");
  const Condition degraded = live_condition(ns(), "typo", "Degraded");
  EXPECT_NE(degraded.message.find("campaigns.reconciller"), std::string::npos) << degraded.message;
  const auto row = kubectl({"get", "wj", "typo", "-n", ns(), "--no-headers"});
  EXPECT_NE(row.out.find("UnknownJob"), std::string::npos) << "expected STATUS UnknownJob, saw: " << row.out;
}

TEST_F(UserStory, TheLeaderIsKilledAndAnotherReplicaTakesOver) {
  value wj = demo_job("handover");
  wj["spec"]["replicas"] = value::number(0);  // the story is about the operator, not the pods
  apply(wj);
  ASSERT_TRUE(wait_until([&] { return exists("deployment", "handover"); }, kConverge, kPollInterval));
  const std::string leader = operator_leader_identity();
  ASSERT_FALSE(leader.empty()) << "nobody holds the Lease " << kOperatorNamespace << "/worker-operator";

  // kill -9 of the leader's process: it cannot release the Lease, which must expire.
  const std::string leader_pod = pod_of_identity(leader);
  const int killed = kill9_pod_processes(kOperatorNamespace, leader_pod);
  if (killed == 0) {
    // Not the local cluster: this machine is not the pod's node. Deleting the pod without grace is the
    // nearest a test can come to killing it there.
    std::cout << "leader " << leader_pod << " does not run on this machine; deleting it with --grace-period=0\n";
    ASSERT_TRUE(kubectl({"delete", "pod", leader_pod, "-n", kOperatorNamespace, "--grace-period=0", "--force"}).ok());
  }
  patch("handover", R"({"spec":{"resources":{"limits":{"memory":"160Mi"}}}})");

  // Lease duration (15 s) plus a retry period (2 s), with room for a busy machine.
  EXPECT_TRUE(wait_until([&] { return deployment_memory_limit("handover") == "160Mi"; }, kConverge, kPollInterval))
      << "expected the change made after the leader died to reach the Deployment\n"
      << "leader was " << leader << ", now " << operator_leader_identity() << "\n"
      << operator_logs();
  const std::string successor = operator_leader_identity();
  EXPECT_NE(successor, leader) << "a new leader identity";
  std::cout << "leader " << leader << " killed (" << killed << " processes); successor " << successor << "\n";
}

}  // namespace
}  // namespace wo::e2e
