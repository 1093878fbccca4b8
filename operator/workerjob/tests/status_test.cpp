#include "workerjob/status.h"

#include <gtest/gtest.h>

namespace wo::workerjob {
namespace {

using web::json::value;

constexpr const char* kNow = "2026-11-28T04:00:00Z";

api::WorkerJob make_job(bool paused = false, int replicas = 1) {
  const std::string text = R"({"apiVersion":"worker.dev/v1alpha1","kind":"WorkerJob",
    "metadata":{"name":"rec","namespace":"campaigns","uid":"u1","generation":3},
    "spec":{"job":"campaigns.reconciler","replicas":)" +
                           std::to_string(replicas) + R"(,"paused":)" + (paused ? "true" : "false") + "}}";
  auto parsed = api::parse_workerjob(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  return *parsed.value;
}

value deployment(int replicas, int ready, int updated, int available, int generation = 2, int observed = 2) {
  return value::parse(R"({"metadata":{"name":"rec","generation":)" + std::to_string(generation) +
                      R"(},"status":{"observedGeneration":)" + std::to_string(observed) + R"(,"replicas":)" +
                      std::to_string(replicas) + R"(,"readyReplicas":)" + std::to_string(ready) +
                      R"(,"updatedReplicas":)" + std::to_string(updated) + R"(,"availableReplicas":)" +
                      std::to_string(available) + "}}");
}

value pod_with_container_status(const std::string& container_status_json) {
  return value::parse(R"({"metadata":{"name":"rec-abc"},"status":{"containerStatuses":[)" + container_status_json +
                      "]}}");
}

const api::Condition& condition(const api::WorkerJobStatus& st, const std::string& type) {
  for (const auto& c : st.conditions) {
    if (c.type == type) return c;
  }
  static api::Condition none;
  ADD_FAILURE() << "no condition " << type;
  return none;
}

TEST(Status, ReadyWhenRolledOut) {
  const auto d = deployment(1, 1, 1, 1);
  const auto st = derive_status(make_job(), {&d, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").status, "True");
  EXPECT_EQ(condition(st, "Ready").reason, "Available");
  EXPECT_EQ(condition(st, "Progressing").status, "False");
  EXPECT_EQ(condition(st, "Degraded").status, "False");
  EXPECT_EQ(st.ready, "1/1");
  EXPECT_EQ(st.observed_generation, 3);
  EXPECT_EQ(condition(st, "Ready").observed_generation, 3);
  EXPECT_EQ(st.deployment, "rec");
  EXPECT_FALSE(st.selector.empty());
}

TEST(Status, RollingOutWhileReplicasAreNotReady) {
  const auto d = deployment(1, 0, 1, 0);
  const auto st = derive_status(make_job(), {&d, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").status, "False");
  EXPECT_EQ(condition(st, "Ready").reason, "RollingOut");
  EXPECT_EQ(condition(st, "Progressing").status, "True");
}

TEST(Status, StaleDeploymentGenerationIsNotRolledOut) {
  const auto d = deployment(1, 1, 1, 1, /*generation=*/3, /*observed=*/2);
  const auto st = derive_status(make_job(), {&d, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").status, "False");
  EXPECT_EQ(condition(st, "Progressing").reason, "RollingOut");
}

TEST(Status, MissingDeploymentIsCreating) {
  const auto st = derive_status(make_job(), {nullptr, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").reason, "Creating");
  EXPECT_EQ(st.ready, "0/1");
}

TEST(Status, PausedSaysSo) {
  const auto d = deployment(0, 0, 0, 0);
  const auto st = derive_status(make_job(/*paused=*/true), {&d, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").status, "False");
  EXPECT_EQ(condition(st, "Ready").reason, "Paused");
  EXPECT_EQ(st.ready, "0/0");
}

TEST(Status, ZeroReplicasIsReady) {
  const auto d = deployment(0, 0, 0, 0);
  const auto st = derive_status(make_job(false, 0), {&d, {}, {}}, kNow);
  EXPECT_EQ(condition(st, "Ready").status, "True");
  EXPECT_EQ(condition(st, "Ready").reason, "ScaledToZero");
}

TEST(Status, OomKilledInBackoff) {
  const auto d = deployment(1, 0, 1, 0);
  const auto pod = pod_with_container_status(R"({"name":"worker","restartCount":3,
      "state":{"waiting":{"reason":"CrashLoopBackOff"}},
      "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2026-11-28T03:10:00Z"}}})");
  const auto st = derive_status(make_job(), {&d, {pod}, {}}, kNow);
  EXPECT_EQ(condition(st, "Degraded").status, "True");
  EXPECT_EQ(condition(st, "Degraded").reason, "OOMKilled");
  EXPECT_EQ(condition(st, "Ready").reason, "OOMKilled");
  ASSERT_TRUE(st.last_failure.has_value());
  EXPECT_EQ(st.last_failure->reason, "OOMKilled");
  EXPECT_EQ(st.last_failure->pod, "rec-abc");
  EXPECT_EQ(st.last_failure->time, "2026-11-28T03:10:00Z");
}

TEST(Status, RecentOomWhileRunningAgainStillDegraded) {
  const auto pod = pod_with_container_status(R"({"name":"worker","restartCount":1,"state":{"running":{}},
      "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2026-11-28T03:58:00Z"}}})");
  const auto f = pod_failure(pod, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "OOMKilled");
}

TEST(Status, OldFailureWhileRunningIsRecovered) {
  const auto pod = pod_with_container_status(R"({"name":"worker","restartCount":1,"state":{"running":{}},
      "lastState":{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2026-11-28T02:00:00Z"}}})");
  EXPECT_FALSE(pod_failure(pod, kNow).has_value());
}

TEST(Status, WorkerTerminationMessageNamesTheReason) {
  const auto pod = pod_with_container_status(R"({"name":"worker","restartCount":2,
      "state":{"waiting":{"reason":"CrashLoopBackOff"}},
      "lastState":{"terminated":{"reason":"Error","exitCode":2,"finishedAt":"2026-11-28T03:59:00Z",
        "message":"UnknownJob: no job named \"campaigns.nope\"; known jobs: a, b\n"}}})");
  const auto f = pod_failure(pod, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "UnknownJob");
  EXPECT_EQ(f->message, "no job named \"campaigns.nope\"; known jobs: a, b");
}

TEST(Status, InvalidConfigFromTerminationMessage) {
  const auto pod = pod_with_container_status(R"({"name":"worker","state":{"terminated":{"reason":"Error",
      "exitCode":2,"finishedAt":"2026-11-28T03:59:00Z","message":"InvalidConfig: field \"concurrency\": must be >= 1"}}})");
  const auto f = pod_failure(pod, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "InvalidConfig");
}

TEST(Status, PlainCrashIsCrashLoopBackOff) {
  const auto pod = pod_with_container_status(R"({"name":"worker","restartCount":4,
      "state":{"waiting":{"reason":"CrashLoopBackOff"}},
      "lastState":{"terminated":{"reason":"Error","exitCode":1,"finishedAt":"2026-11-28T03:00:00Z",
        "message":"panic: something"}}})");
  const auto f = pod_failure(pod, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "CrashLoopBackOff");
  EXPECT_NE(f->message.find("exited with code 1"), std::string::npos) << f->message;
}

TEST(Status, ImagePullBackOffKeepsFirstSeenTime) {
  const auto d = deployment(1, 0, 1, 0);
  const auto pod = pod_with_container_status(
      R"({"name":"worker","state":{"waiting":{"reason":"ErrImagePull","message":"not found"}}})");
  auto job = make_job();
  const auto first = derive_status(job, {&d, {pod}, {}}, kNow);
  ASSERT_TRUE(first.last_failure.has_value());
  EXPECT_EQ(first.last_failure->reason, "ImagePullBackOff");
  job.status = first;
  const auto second = derive_status(job, {&d, {pod}, {}}, "2026-11-28T04:05:00Z");
  EXPECT_FALSE(status_changed(first, second));
}

TEST(Status, UnschedulablePod) {
  const auto pod = value::parse(R"({"metadata":{"name":"p"},"status":{"phase":"Pending","conditions":[
      {"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/1 nodes: Insufficient memory",
       "lastTransitionTime":"2026-11-28T03:59:00Z"}]}})");
  const auto f = pod_failure(pod, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "Unschedulable");
  EXPECT_EQ(f->message, "0/1 nodes: Insufficient memory");
}

TEST(Status, MostSevereFailureWins) {
  const auto d = deployment(2, 0, 2, 0);
  const auto pull = value::parse(R"({"metadata":{"name":"a"},"status":{"containerStatuses":[
      {"name":"worker","state":{"waiting":{"reason":"ImagePullBackOff"}}}]}})");
  const auto oom = value::parse(R"({"metadata":{"name":"b"},"status":{"containerStatuses":[
      {"name":"worker","state":{"waiting":{"reason":"CrashLoopBackOff"}},
       "lastState":{"terminated":{"reason":"OOMKilled","exitCode":137,"finishedAt":"2026-11-28T03:59:00Z"}}}]}})");
  const auto st = derive_status(make_job(false, 2), {&d, {pull, oom}, {}}, kNow);
  EXPECT_EQ(condition(st, "Degraded").reason, "OOMKilled");
  EXPECT_EQ(st.last_failure->pod, "b");
}

TEST(Status, BlockedByTheController) {
  const auto st = derive_status(make_job(), {nullptr, {}, Problem{"NameConflict", "Deployment rec is not ours"}}, kNow);
  EXPECT_EQ(condition(st, "Degraded").reason, "NameConflict");
  EXPECT_EQ(condition(st, "Ready").reason, "NameConflict");
  EXPECT_EQ(condition(st, "Ready").status, "False");
}

TEST(Status, TransitionTimeKeptWhileStatusUnchanged) {
  const auto d = deployment(1, 1, 1, 1);
  auto job = make_job();
  const auto first = derive_status(job, {&d, {}, {}}, kNow);
  job.status = first;
  const auto later = derive_status(job, {&d, {}, {}}, "2026-11-28T05:00:00Z");
  EXPECT_EQ(condition(later, "Ready").last_transition_time, kNow);
  EXPECT_FALSE(status_changed(first, later));
  const auto d2 = deployment(1, 0, 1, 0);
  const auto flipped = derive_status(job, {&d2, {}, {}}, "2026-11-28T05:00:00Z");
  EXPECT_EQ(condition(flipped, "Ready").last_transition_time, "2026-11-28T05:00:00Z");
  EXPECT_TRUE(status_changed(first, flipped));
}

TEST(Status, LastFailureSurvivesRecovery) {
  const auto d = deployment(1, 1, 1, 1);
  auto job = make_job();
  job.status.last_failure = api::LastFailure{"OOMKilled", "killed", "rec-old", "2026-11-28T01:00:00Z"};
  const auto st = derive_status(job, {&d, {}, {}}, kNow);
  ASSERT_TRUE(st.last_failure.has_value());
  EXPECT_EQ(st.last_failure->pod, "rec-old");
  EXPECT_EQ(condition(st, "Degraded").status, "False");
}

}  // namespace
}  // namespace wo::workerjob
