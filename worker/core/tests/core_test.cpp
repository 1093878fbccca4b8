// Unit tests of the pure logic: backoff, configuration validation, the registry, cancellation, routines.
#include <gtest/gtest.h>

#include <future>
#include <latch>
#include <set>

#include "core/backoff.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/database.h"
#include "core/identity.h"
#include "core/periodic.h"
#include "core/registry.h"
#include "core/routine.h"
#include "queue/options.h"
#include "queue/store.h"
#include "testing/fake_clock.h"
#include "testing/wait.h"

namespace wo::worker {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsExponentiallyWithinJitterAndCaps) {
  for (int round = 0; round < 200; ++round) {
    auto previous = milliseconds(0);
    for (int failures = 1; failures <= 6; ++failures) {
      auto d = retry_delay(failures, milliseconds(100), milliseconds(100000), 0.2);
      double base = 100.0 * (1 << (failures - 1));
      EXPECT_GE(static_cast<double>(d.count()), base * 0.8 - 1);
      EXPECT_LE(static_cast<double>(d.count()), base * 1.2 + 1);
      EXPECT_GT(d, previous) << "delays must grow";
      previous = d;
    }
  }
  EXPECT_LE(retry_delay(40, milliseconds(100), milliseconds(5000), 0.2), milliseconds(6000));
  EXPECT_EQ(retry_delay(3, milliseconds(10), milliseconds(1000), 0), milliseconds(40));
  EXPECT_EQ(retry_delay(1000000, milliseconds(10), milliseconds(1000), 0), milliseconds(1000));
}

ConfigError config_error(const std::string& yaml) {
  try {
    ConfigReader r(YAML::Load(yaml));
    queue::read_queue_options(r);
    r.finish();
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no ConfigError for: " << yaml;
  return ConfigError("", "");
}

TEST(ConfigTest, ErrorsNameTheField) {
  EXPECT_EQ(config_error("concurrency: 2").field(), "table");
  EXPECT_EQ(config_error("table: Bad-Name").field(), "table");
  EXPECT_EQ(config_error("table: t\nconcurrency: lots").field(), "concurrency");
  EXPECT_EQ(config_error("table: t\nconcurrency: 0").field(), "concurrency");
  EXPECT_EQ(config_error("table: t\npoll_interval: soon").field(), "poll_interval");
  EXPECT_EQ(config_error("table: t\nnotify: maybe").field(), "notify");
  EXPECT_EQ(config_error("table: t\nconcurency: 2").field(), "concurency");
  EXPECT_EQ(config_error("table: t\nheartbeat_interval: 10s\nstalled_after: 20s").field(), "stalled_after");
  EXPECT_EQ(config_error("table: [a, b]").field(), "table");
  // A heartbeat may wait a whole statement timeout behind another statement, plus its interval.
  ConfigReader r(YAML::Load("table: t\nheartbeat_interval: 5s\nstalled_after: 35s"));
  auto o = queue::read_queue_options(r);
  try {
    queue::validate_against_statement_timeout(o, std::chrono::seconds(30));
    ADD_FAILURE() << "stalled_after 35s accepted with a 30s statement timeout and a 5s heartbeat";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "stalled_after");
    EXPECT_NE(std::string(e.what()).find("30s"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5s"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(queue::validate_against_statement_timeout(o, std::chrono::seconds(29)));
  EXPECT_NO_THROW(queue::validate_against_statement_timeout(o, milliseconds(0)));
  o.resetter = false;  // this job's stalled_after is not used
  EXPECT_NO_THROW(queue::validate_against_statement_timeout(o, std::chrono::seconds(30)));
  EXPECT_EQ(config_error("- a\n- b").field(), "(root)");
}

TEST(ConfigTest, ReadsValuesAndDefaults) {
  ConfigReader r(YAML::Load("table: jobs\nconcurrency: 8\npoll_interval: 250ms\nnotify: false\nmax_resets: 0"));
  auto o = queue::read_queue_options(r);
  r.finish();
  EXPECT_EQ(o.table, "jobs");
  EXPECT_EQ(o.concurrency, 8);
  EXPECT_EQ(o.poll_interval, milliseconds(250));
  EXPECT_FALSE(o.notify);
  EXPECT_EQ(o.max_resets, 0);
  EXPECT_EQ(o.max_attempts, 5);
  EXPECT_EQ(o.heartbeat_interval, milliseconds(5000));
}

TEST(ConfigTest, NestedFieldsCarryTheirPath) {
  ConfigReader r(YAML::Load("outer:\n  inner: x"));
  ConfigReader child = r.child("outer");
  try {
    child.integer("inner", 0, 0, 10);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "outer.inner");
  }
}

TEST(RegistryTest, BuiltinJobsAreRegisteredSortedAndValidateTheirConfig) {
  const Registry& registry = Registry::global();
  EXPECT_TRUE(registry.errors().empty());
  auto names = registry.names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* expected :
       {"queue.command", "queue.resetter", "queue.janitor", "sql.periodic", "demo.sleep", "example.greeter"}) {
    EXPECT_NE(registry.find(expected), nullptr) << expected;
  }
  metrics::Registry metrics;
  for (const auto* job : registry.all()) {
    EXPECT_FALSE(job->description.empty()) << job->name;
    EXPECT_EQ(job->description.find('\n'), std::string::npos) << job->name << ": one line";
    EXPECT_FALSE(job->config_help.empty()) << job->name;
    JobContext ctx;
    ctx.job = job->name;
    ctx.metrics = &metrics;
    ctx.config = YAML::Load("unexpected_key: 1");
    EXPECT_THROW(job->build(ctx), ConfigError) << job->name << " must reject an empty or unknown configuration";
  }
  JobContext ok;
  ok.job = "queue.command";
  ok.metrics = &metrics;
  ok.config = YAML::Load("table: things\ncommand: [/bin/cat]\nconcurrency: 3");
  EXPECT_EQ(registry.find("queue.command")->build(ok).size(), 3u);  // worker, resetter, janitor
}

TEST(CancelTokenTest, FirstReasonSticksAndWakesWaiters) {
  wo::testing::FakeClock clock;
  CancelToken t;
  EXPECT_FALSE(t.cancelled());
  EXPECT_FALSE(t.stop_token().stop_requested());
  std::future<bool> waited = std::async(std::launch::async, [&] { return t.wait_for(milliseconds(30000), clock); });
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  const CancelToken copy = t;  // a copy shares the state
  EXPECT_TRUE(copy.cancel(CancelReason::requested));
  EXPECT_TRUE(waited.get()) << "a cancellation ends the wait at once, long before its end";
  EXPECT_FALSE(t.cancel(CancelReason::shutdown));
  EXPECT_EQ(t.reason(), CancelReason::requested);
  EXPECT_TRUE(t.stop_token().stop_requested());
  EXPECT_THROW(t.throw_if_cancelled(), Cancelled);
}

TEST(CancelTokenTest, AWaitThatRunsOutIsNotACancellationAndNothingSleepsForReal) {
  wo::testing::FakeClock clock;
  CancelToken t;
  std::future<bool> waited = std::async(std::launch::async, [&] { return t.wait_for(milliseconds(30000), clock); });
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  clock.advance(milliseconds(30000));
  EXPECT_FALSE(waited.get());
  EXPECT_NO_THROW(t.throw_if_cancelled());
}

// Code that takes a std::stop_token sees the cancellation, and its reason is already there.
TEST(CancelTokenTest, AStopCallbackSeesTheReason) {
  CancelToken t;
  CancelReason seen = CancelReason::none;
  const std::stop_callback on_cancel(t.stop_token(), [&] { seen = t.reason(); });
  t.cancel(CancelReason::timeout);
  EXPECT_EQ(seen, CancelReason::timeout);
  EXPECT_FALSE(CancelToken().cancel(CancelReason::none)) << "none is no reason to cancel";
}

TEST(DatabaseTest, ConnectionStringNamesTheJobAndSetsTimeouts) {
  DatabaseOptions o;
  o.url = "postgres://u@db:5432/app";
  o.application_name = "worker:team.job";
  o.statement_timeout = milliseconds(1500);
  std::string uri = connection_string(o);
  EXPECT_NE(uri.find("?application_name=worker%3Ateam.job"), std::string::npos) << uri;
  EXPECT_NE(uri.find("options=-c%20statement_timeout%3D1500"), std::string::npos) << uri;
  o.url = "host=db dbname=app";
  std::string kv = connection_string(o);
  EXPECT_NE(kv.find("application_name='worker:team.job'"), std::string::npos) << kv;
  EXPECT_NE(kv.find("options='-c statement_timeout=1500'"), std::string::npos) << kv;
  o.lock_timeout = milliseconds(5000);
  kv = connection_string(o);
  EXPECT_NE(kv.find("options='-c statement_timeout=1500 -c lock_timeout=5000'"), std::string::npos) << kv;
  o.url = "";
  EXPECT_EQ(connection_string(o).rfind("application_name=", 0), 0u);
}

TEST(IdentityTest, WorkerIdsAreFreshUuids) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(new_worker_id());
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.begin()->size(), 36u);
  EXPECT_EQ((*ids.begin())[14], '4');
}

TEST(PgArrayTest, EscapesTextElements) {
  EXPECT_EQ(queue::to_pg_array(std::vector<int64_t>{1, 2, 3}), "{1,2,3}");
  EXPECT_EQ(queue::to_pg_array(std::vector<std::string>{"a", "b\"c", "d\\e", ""}), R"({"a","b\"c","d\\e",""})");
}

class ThrowingRoutine : public Routine {
 public:
  std::string name() const override { return "thrower"; }
  void run(RoutineContext& ctx) override {
    ctx.set_ready(true);
    throw std::runtime_error("boom");
  }
};

class PoliteRoutine : public Routine {
 public:
  std::string name() const override { return "polite"; }
  void run(RoutineContext& ctx) override {
    ctx.set_ready(true);
    while (ctx.sleep_for(milliseconds(5))) ctx.progress();
  }
};

// Routines started under a runner, with their health checks.
struct RunningRoutines {
  metrics::Registry metrics;
  health::Checks checks;
  RoutineRunner runner{metrics, checks};

  explicit RunningRoutines(std::vector<std::unique_ptr<Routine>> routines) {
    for (auto& r : routines) runner.add(std::move(r));
    runner.start();
  }
  // Liveness and its body, once it fails (or after 30 s).
  std::pair<bool, std::string> live_once_failing() const {
    wo::testing::wait_until([&] { return !checks.live().first; }, milliseconds(30000));
    return checks.live();
  }
  bool stop() { return runner.stop(std::chrono::steady_clock::now() + std::chrono::seconds(5)); }
};

template <typename... R>
std::vector<std::unique_ptr<Routine>> routines() {
  std::vector<std::unique_ptr<Routine>> out;
  (out.push_back(std::make_unique<R>()), ...);
  return out;
}

TEST(RoutineRunnerTest, ADeadRoutineFailsLivenessAndAStoppedOneDoesNot) {
  RunningRoutines r(routines<PoliteRoutine, ThrowingRoutine>());
  auto [live, body] = r.live_once_failing();
  EXPECT_FALSE(live);
  EXPECT_NE(body.find("thrower"), std::string::npos) << body;
  EXPECT_NE(body.find("boom"), std::string::npos) << body;
  EXPECT_TRUE(r.stop());
  ASSERT_EQ(r.runner.failures().size(), 1u);
  EXPECT_NE(r.runner.failures()[0].find("thrower"), std::string::npos);
}

// A routine whose loop turns but that knows it is wedged (e.g. a handler ignoring its cancellation).
class WedgedRoutine : public Routine {
 public:
  std::string name() const override { return "wedged"; }
  void run(RoutineContext& ctx) override {
    ctx.set_ready(true);
    ctx.set_live(false, "a handler ignores its cancellation");
    while (ctx.sleep_for(milliseconds(5))) ctx.progress();
  }
};

TEST(RoutineRunnerTest, ARoutineThatSaysItIsNotLiveFailsLivenessUntilItStops) {
  RunningRoutines r(routines<WedgedRoutine>());
  auto [live, body] = r.live_once_failing();
  EXPECT_FALSE(live);
  EXPECT_NE(body.find("a handler ignores its cancellation"), std::string::npos) << body;
  EXPECT_TRUE(r.stop());
  EXPECT_TRUE(r.checks.live().first) << "a stopped routine is not wedged";
  EXPECT_TRUE(r.runner.failures().empty());
}

// A routine that waits for its stop on a condition variable (not on the clock).
class WaitsForItsStop : public Routine {
 public:
  std::string name() const override { return "waits"; }
  void run(RoutineContext& ctx) override {
    ctx.set_ready(true);
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    cv.wait(lock, ctx.stop_token(), [] { return false; });
  }
};

// A routine that ignores its stop until the test lets it go.
class StubbornRoutine : public Routine {
 public:
  explicit StubbornRoutine(std::latch& release) : release_(release) {}
  std::string name() const override { return "stubborn"; }
  void run(RoutineContext& ctx) override {
    ctx.set_ready(true);
    release_.wait();
  }

 private:
  std::latch& release_;
};

// The runner waits for its routines on its clock, up to deadline + grace, and leaves a routine that did
// not return owned (never detached): it names it, and joins it only once it returns.
TEST(RoutineRunnerTest, ARoutineThatIgnoresItsStopIsNamedAfterDeadlinePlusGraceAndNeverDetached) {
  wo::testing::FakeClock clock;
  metrics::Registry metrics;
  health::Checks checks;
  std::latch release(1);
  {
    RoutineRunner runner(metrics, checks, clock);
    runner.add(std::make_unique<WaitsForItsStop>());
    runner.add(std::make_unique<StubbornRoutine>(release));
    runner.start();
    const auto deadline = clock.now() + std::chrono::seconds(25);
    std::future<bool> stopped = std::async(std::launch::async, [&] { return runner.stop(deadline); });
    ASSERT_TRUE(clock.wait_for_sleepers(1)) << "stop() waits on the clock";
    // The other routine returns on its stop, in real time: the clock moves on only once it has.
    ASSERT_TRUE(wo::testing::wait_until([&] { return runner.still_running() == std::vector<std::string>{"stubborn"}; },
                                        milliseconds(30000)));
    clock.advance(std::chrono::seconds(25));
    EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
        << "the grace after the deadline is waited for too";
    ASSERT_TRUE(clock.wait_for_sleepers(1));
    clock.advance(std::chrono::seconds(1));
    EXPECT_FALSE(stopped.get());
    EXPECT_EQ(runner.still_running(), std::vector<std::string>{"stubborn"});
    EXPECT_TRUE(runner.failures().empty());
    release.count_down();  // else the runner's destructor would wait for it for ever
  }
}

TEST(RoutineRunnerTest, StopReturnsAsSoonAsEveryRoutineHasReturnedWithoutWaitingOutTheDeadline) {
  wo::testing::FakeClock clock;
  metrics::Registry metrics;
  health::Checks checks;
  RoutineRunner runner(metrics, checks, clock);
  runner.add(std::make_unique<PoliteRoutine>());
  runner.start();
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_TRUE(runner.stop(clock.now() + std::chrono::hours(1)));  // the fake clock never moves
  EXPECT_TRUE(runner.still_running().empty());
}

// A periodic routine's waits are on its runner's clock: hours of its schedule pass in microseconds.
TEST(PeriodicRoutineTest, RunsAtStartThenOncePerIntervalOnTheRunnersClock) {
  wo::testing::FakeClock clock;
  metrics::Registry metrics;
  health::Checks checks;
  std::atomic<int> runs{0};
  PeriodicOptions options;
  options.name = "tick";
  options.interval = std::chrono::hours(1);
  options.jitter = 0;
  RoutineRunner runner(metrics, checks, clock);
  runner.add(std::make_unique<PeriodicRoutine>(
      options, [&](pqxx::connection*) { ++runs; }, metrics));
  runner.start();
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(runs.load(), 1) << "run_at_start";
  clock.advance(std::chrono::minutes(59));
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(runs.load(), 1) << "not due before the interval";
  clock.advance(std::chrono::minutes(1));
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(runs.load(), 2);
  clock.advance(std::chrono::hours(1));
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(runs.load(), 3);
  EXPECT_TRUE(checks.ready().first);
  EXPECT_TRUE(runner.stop(clock.now() + std::chrono::seconds(25)));
  EXPECT_EQ(metrics.counter("worker_routine_runs_total", "", {"routine"}).with({"tick"}).value(), 3);
}

}  // namespace
}  // namespace wo::worker
