// Integration tests of the queue framework against a real Postgres (the shared throwaway server).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "core/identity.h"
#include "core/registry.h"
#include "core/routine.h"
#include "queue/enqueue.h"
#include "queue/queue_job.h"
#include "queue/schema.h"
#include "queue/store.h"
#include "testing/postgres_server.h"
#include "tests/worker_test_support.h"

namespace wo::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using wo::worker::testing::fresh_database;
using wo::worker::testing::query_int;
using wo::worker::testing::run_sql;
using wo::worker::testing::wait_until;

QueueOptions fast_options(const std::string& table) {
  QueueOptions o;
  o.table = table;
  o.concurrency = 4;
  o.poll_interval = milliseconds(50);
  o.heartbeat_interval = milliseconds(100);
  o.stalled_after = seconds(30);  // tests that want resets set their own
  o.resetter_interval = milliseconds(100);
  o.retry_backoff = milliseconds(50);
  o.depth_sample_interval = milliseconds(100);
  o.janitor = false;
  return o;
}

// One worker "process" in-process: its own worker id, routines, metrics and health checks.
class Worker {
 public:
  // worker_id: the process's identity; two Workers given the same one are two queue workers of one
  // process (e.g. two jobs on one table).
  Worker(const std::string& dsn, const QueueOptions& options, Handler handler,
         milliseconds statement_timeout = seconds(10), const std::string& worker_id = wo::worker::new_worker_id())
      : runner_(metrics_, checks_) {
    wo::worker::JobContext ctx;
    ctx.job = "test";
    ctx.database.url = dsn;
    ctx.database.statement_timeout = statement_timeout;
    ctx.database.connect_timeout = seconds(2);
    ctx.metrics = &metrics_;
    ctx.worker_id = worker_id;
    ctx.hostname = "test";
    for (auto& r : queue_job_routines(ctx, options, std::move(handler))) runner_.add(std::move(r));
    runner_.start();
  }
  ~Worker() { stop(); }
  void stop() {
    if (!stopped_) runner_.stop(std::chrono::steady_clock::now() + seconds(10));
    stopped_ = true;
  }
  bool ready() const { return checks_.ready().first; }
  bool live() const { return checks_.live().first; }
  metrics::Registry& metrics() { return metrics_; }

 private:
  metrics::Registry metrics_;
  health::Checks checks_;
  wo::worker::RoutineRunner runner_;
  bool stopped_ = false;
};

void create_queue(const std::string& dsn, const std::string& table) {
  pqxx::connection c(dsn);
  migrate(c, QueueTable(table));
}

std::vector<int64_t> enqueue_n(const std::string& dsn, const std::string& table, int n,
                               const std::string& payload = "{}") {
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  auto ids = enqueue_many(tx, table, std::vector<std::string>(static_cast<std::size_t>(n), payload));
  tx.commit();
  return ids;
}

std::string query_text(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<std::string>();
}

long long count_state(const std::string& dsn, const std::string& table, const std::string& state) {
  return query_int(dsn, "SELECT count(*) FROM " + table + " WHERE state = '" + state + "'");
}

TEST(QueueTest, MigrationIsIdempotentAndKeepsExtraColumns) {
  std::string dsn = fresh_database();
  {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE mine (id bigserial PRIMARY KEY, team_column text)");
  }
  create_queue(dsn, "mine");
  create_queue(dsn, "mine");
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'mine'"), 17);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'mine'"),
            5);  // primary key, dequeue, processing, cancel_requested, finished
}

// A table an older version created has every index and the trigger, but not the newer columns: the
// quick "already current" check must not skip adding them.
TEST(QueueTest, MigrationAddsTheColumnsATableOfAnOlderVersionLacks) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  run_sql(dsn, "ALTER TABLE jobs DROP COLUMN attempt_token");
  create_queue(dsn, "jobs");
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM information_schema.columns WHERE table_name = 'jobs' AND column_name = "
                      "'attempt_token'"),
            1);
}

// The same for an index added by a newer version (jobs_cancel_requested_idx came after the others).
TEST(QueueTest, MigrationAddsTheIndexesATableOfAnOlderVersionLacks) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  run_sql(dsn, "DROP INDEX jobs_cancel_requested_idx");
  create_queue(dsn, "jobs");
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM pg_indexes WHERE indexname = 'jobs_cancel_requested_idx'"), 1);
}

// Every claim of a record is a new attempt with its own token; heartbeats and outcomes that name an
// attempt the record has left (reset, then claimed again) change nothing, even from the same worker.
TEST(QueueTest, EveryClaimIsANewAttemptAndOnlyTheCurrentAttemptHeartbeatsOrFinishes) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t id = enqueue_n(dsn, "jobs", 1)[0];
  QueueStore store(QueueTable("jobs"), wo::worker::new_worker_id(), "test");
  pqxx::connection c(dsn);
  auto first = store.claim(c, 1);
  ASSERT_EQ(first.size(), 1u);
  const std::string token_sql = "SELECT attempt_token::text FROM jobs WHERE id = " + std::to_string(id);
  EXPECT_EQ(first[0].attempt_token, query_text(dsn, token_sql));
  EXPECT_EQ(store.heartbeat(c, {{id, first[0].attempt_token}}).size(), 1u);
  ASSERT_EQ(QueueStore::reset_stalled(c, QueueTable("jobs"), milliseconds(0), 3, 100).requeued, 1);
  auto second = store.claim(c, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].attempt_token, first[0].attempt_token);
  EXPECT_EQ(second[0].attempt_token, query_text(dsn, token_sql));

  EXPECT_TRUE(store.heartbeat(c, {{id, first[0].attempt_token}}).empty()) << "the old attempt heartbeated";
  EXPECT_TRUE(store.finish(c, {{id, first[0].attempt_token, Outcome::completed, "", {}}}, 5).empty());
  EXPECT_TRUE(store.finish(c, {{id, first[0].attempt_token, Outcome::released, "", {}}}, 5).empty());
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE state = 'processing' AND num_failures = 0"), 1);

  EXPECT_EQ(store.heartbeat(c, {{id, second[0].attempt_token}}).size(), 1u);
  auto done = store.finish(c, {{id, second[0].attempt_token, Outcome::completed, "", {}}}, 5);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].state, kCompleted);
}

// The queue's statements are prepared once per connection but planned on every call: a generic plan,
// costed once for an empty queue, would scan a later backlog sequentially.
TEST(QueueTest, ClaimsFinishesAndHeartbeatsArePreparedButNeverRunOnAGenericPlan) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  QueueStore store(QueueTable("jobs"), wo::worker::new_worker_id(), "test");
  pqxx::connection c(dsn);
  for (int i = 0; i < 10; ++i) {
    int64_t id = enqueue_n(dsn, "jobs", 1)[0];
    auto claimed = store.claim(c, 8);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(store.heartbeat(c, {{id, claimed[0].attempt_token}}).size(), 1u);
    EXPECT_EQ(store.finish(c, {{id, claimed[0].attempt_token, Outcome::completed, "", {}}}, 5).size(), 1u);
  }
  pqxx::nontransaction tx(c);
  auto r = tx.exec("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name");
  ASSERT_EQ(r.size(), 3u);
  for (const auto& row : r) {
    EXPECT_EQ(row[1].as<int>(), 0) << row[0].as<std::string>() << " ran on a generic plan";
    EXPECT_EQ(row[2].as<int>(), 10) << row[0].as<std::string>();
  }
}

TEST(QueueTest, ManyWorkersProcessEveryRecordExactlyOnce) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  constexpr int kRecords = 2000;
  auto ids = enqueue_n(dsn, "jobs", kRecords);
  std::mutex mu;
  std::map<int64_t, int> runs;
  auto handler = [&](const Record& r, const wo::worker::CancelToken&) {
    std::lock_guard lock(mu);
    ++runs[r.id];
  };
  {
    std::vector<std::unique_ptr<Worker>> workers;
    workers.reserve(4);
    for (int i = 0; i < 4; ++i) workers.push_back(std::make_unique<Worker>(dsn, fast_options("jobs"), handler));
    ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == kRecords; }, seconds(120)));
  }
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kRecords));
  for (auto id : ids) EXPECT_EQ(runs[id], 1) << "record " << id;
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_failures + num_resets > 0"), 0);
}

// worker_queue_records is sampled with the depth, from the same state_counts as `worker queue stats`.
TEST(QueueTest, RecordsByStateAreExportedWithTheDepth) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  enqueue_n(dsn, "jobs", 3);
  run_sql(dsn, "INSERT INTO jobs (state, process_after) VALUES ('queued', now() + interval '1 hour')");
  Worker w(dsn, fast_options("jobs"), [](const Record& r, const wo::worker::CancelToken&) {
    if (r.id == 2) throw std::runtime_error("boom");
  });
  auto has = [&](const std::string& line) { return w.metrics().render().find(line + "\n") != std::string::npos; };
  ASSERT_TRUE(wait_until(
      [&] {
        return has(R"(worker_queue_records{queue="jobs",state="completed"} 2)") &&
               has(R"(worker_queue_records{queue="jobs",state="queued"} 1)");
      },
      seconds(30)))
      << w.metrics().render();
  EXPECT_TRUE(has(R"(worker_queue_records{queue="jobs",state="processing"} 0)"));
  EXPECT_TRUE(has(R"(worker_queue_records{queue="jobs",state="canceled"} 0)"));
  ASSERT_TRUE(wait_until([&] { return has(R"(worker_queue_depth{queue="jobs"} 1)"); }, seconds(30)))
      << "the record due in an hour waits; the failing one too, until it fails for good";
}

TEST(QueueTest, ThrowingHandlerRetriesWithGrowingDelaysThenFailsAndNeverBlocksOthers) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    // Records each retry delay the framework schedules.
    tx.exec(
        "CREATE TABLE retries (id bigint, delay_ms float8, at timestamptz DEFAULT clock_timestamp());"
        "CREATE FUNCTION log_retry() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO retries (id, delay_ms) VALUES (NEW.id, "
        "extract(epoch FROM NEW.process_after - NEW.finished_at) * 1000); RETURN NULL; END $$;"
        "CREATE TRIGGER log_retry AFTER UPDATE ON jobs FOR EACH ROW WHEN (NEW.state = 'errored') "
        "EXECUTE FUNCTION log_retry();");
  }
  int64_t poison;
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    poison = enqueue(tx, "jobs", R"({"poison": true})", {.priority = 10});
    tx.commit();
  }
  enqueue_n(dsn, "jobs", 50);
  auto options = fast_options("jobs");
  options.max_attempts = 4;
  options.concurrency = 1;  // the poison record takes the only handler first: the others must still pass
  Worker w(dsn, options, [](const Record& r, const wo::worker::CancelToken&) {
    if (r.payload.find("poison") != std::string::npos) throw std::runtime_error("bad record " + std::to_string(r.id));
  });
  ASSERT_TRUE(wait_until([&] {
    return query_int(dsn, "SELECT count(*) FROM jobs WHERE id = " + std::to_string(poison) + " AND state = 'failed'") ==
           1;
  }));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 50; }));
  EXPECT_EQ(query_int(dsn, "SELECT num_failures FROM jobs WHERE id = " + std::to_string(poison)), 4);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE failure_message LIKE 'bad record%'"), 1);
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  pqxx::result delays = tx.exec("SELECT delay_ms FROM retries WHERE id = " + std::to_string(poison) + " ORDER BY at");
  ASSERT_EQ(delays.size(), 3u) << "errored three times, failed on the fourth";
  for (std::size_t i = 1; i < delays.size(); ++i) {
    EXPECT_GT(delays[i][0].as<double>(), delays[i - 1][0].as<double>()) << "retry delays must grow";
  }
}

TEST(QueueTest, AnOutcomePostgresRejectsIsWrittenAloneWithAFallbackMessageAndNeverBlocksTheOthers) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  // A team's own rule on its table: this message is refused (a data reason, like invalid text).
  run_sql(dsn, "ALTER TABLE jobs ADD CONSTRAINT no_poison CHECK (failure_message NOT LIKE 'poison%')");
  int64_t slow = enqueue_n(dsn, "jobs", 1, R"({"slow": true})")[0];
  int64_t poison = enqueue_n(dsn, "jobs", 1, R"({"poison": true})")[0];
  enqueue_n(dsn, "jobs", 30);
  auto options = fast_options("jobs");
  options.max_attempts = 1;
  std::atomic<bool> release{false};
  Worker w(dsn, options, [&](const Record& r, const wo::worker::CancelToken& token) {
    if (r.payload.find("poison") != std::string::npos) throw std::runtime_error("poison record");
    if (r.payload.find("slow") != std::string::npos) {
      while (!release && !token.cancelled()) token.wait_for(milliseconds(5));
      token.throw_if_cancelled();
    }
  });
  const std::string poison_sql = "SELECT count(*) FROM jobs WHERE id = " + std::to_string(poison);
  ASSERT_TRUE(wait_until([&] { return query_int(dsn, poison_sql + " AND state = 'failed'") == 1; }));
  EXPECT_EQ(query_int(dsn, poison_sql + " AND num_failures = 1 AND failure_message LIKE '%no_poison%'"), 1);
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 30; }));
  // Heartbeats go on for the record still held.
  ASSERT_TRUE(wait_until([&] {
    return query_int(dsn, "SELECT count(*) FROM jobs s, jobs p WHERE s.id = " + std::to_string(slow) +
                              " AND p.id = " + std::to_string(poison) +
                              " AND s.state = 'processing' AND s.last_heartbeat_at > p.finished_at + interval '300 "
                              "milliseconds'") == 1;
  }));
  release = true;
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 31; }));
}

TEST(QueueTest, CancellingARunningRecordCancelsItsHandler) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t id = enqueue_n(dsn, "jobs", 1)[0];
  std::atomic<int> reason{-1};
  Worker w(dsn, fast_options("jobs"), [&](const Record&, const wo::worker::CancelToken& token) {
    token.wait_for(seconds(60));
    reason = static_cast<int>(token.reason());
    token.throw_if_cancelled();
  });
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 1; }));
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    EXPECT_TRUE(request_cancel(tx, "jobs", id));
    tx.commit();
  }
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "canceled") == 1; }));
  EXPECT_EQ(reason.load(), static_cast<int>(wo::worker::CancelReason::requested));
}

// A handler that returns normally has done its work: a cancellation reaching its token before the
// dispatcher wrote the outcome must not turn the success into canceled (or into a rerun).
TEST(QueueTest, ACancelRequestArrivingAsTheHandlerSucceedsNeverErasesTheSuccess) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t id = enqueue_n(dsn, "jobs", 1)[0];
  std::atomic<int> runs{0};
  Worker w(dsn, fast_options("jobs"), [&](const Record&, const wo::worker::CancelToken& token) {
    ++runs;
    // The work is done; it returns as the cancellation arrives.
    token.wait_for(seconds(60));
  });
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 1; }));
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    EXPECT_TRUE(request_cancel(tx, "jobs", id));
    tx.commit();
  }
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 0; }));
  EXPECT_EQ(count_state(dsn, "jobs", "completed"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_failures = 0 AND finished_at IS NOT NULL"), 1);
  w.stop();
  EXPECT_EQ(runs.load(), 1);
}

TEST(QueueTest, AShutdownArrivingAsTheHandlerSucceedsNeverErasesTheSuccess) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  enqueue_n(dsn, "jobs", 1);
  std::atomic<int> runs{0};
  Worker w(dsn, fast_options("jobs"), [&](const Record&, const wo::worker::CancelToken& token) {
    ++runs;
    token.wait_for(seconds(60));
  });
  // The handler has started: a record merely claimed (processing) and not yet picked up by a handler
  // thread is handed back unstarted at shutdown, which is not what this test is about.
  ASSERT_TRUE(wait_until([&] { return runs.load() == 1; }));
  w.stop();
  EXPECT_EQ(count_state(dsn, "jobs", "completed"), 1) << "a success handed back to the queue would run again";
  EXPECT_EQ(runs.load(), 1);
}

TEST(QueueTest, AHandlerOverItsTimeoutIsCancelledAndTheRunCountsAsFailed) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  enqueue_n(dsn, "jobs", 1);
  auto options = fast_options("jobs");
  options.handler_timeout = milliseconds(200);
  options.retry_backoff = std::chrono::hours(1);
  Worker w(dsn, options, [](const Record&, const wo::worker::CancelToken& token) {
    token.wait_for(seconds(60));
    token.throw_if_cancelled();
  });
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "errored") == 1; }));
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_failures = 1 AND failure_message LIKE '%timed out%'"),
            1);
}

TEST(QueueTest, CancellingAWaitingRecordCancelsItAtOnce) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t id = enqueue_n(dsn, "jobs", 1)[0];
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  EXPECT_TRUE(request_cancel(tx, "jobs", id));
  tx.commit();
  EXPECT_EQ(count_state(dsn, "jobs", "canceled"), 1);
}

TEST(QueueTest, HeartbeatsKeepALongRecordFromBeingReset) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  enqueue_n(dsn, "jobs", 1);
  auto options = fast_options("jobs");
  options.heartbeat_interval = milliseconds(50);
  options.stalled_after = milliseconds(1000);  // 20 heartbeats: a busy CI machine must not fake a stall
  options.resetter_interval = milliseconds(20);
  std::atomic<bool> finish{false};
  // stalled_after must exceed statement timeout + heartbeat_interval.
  Worker w(
      dsn, options,
      [&](const Record&, const wo::worker::CancelToken& token) {
        while (!finish && !token.cancelled()) token.wait_for(milliseconds(5));
        token.throw_if_cancelled();
      },
      milliseconds(800));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 1; }));
  // Let the resetter look many times, across more than two stall windows, while the handler runs.
  auto& resetter_runs = w.metrics().counter("worker_routine_runs_total", "", {"routine"}).with({"resetter:jobs"});
  double start = resetter_runs.value();
  ASSERT_TRUE(wait_until([&] { return resetter_runs.value() >= start + 120; }));
  finish = true;
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 1; }));
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs"), 0);
}

// Every handler busy on a long record, nothing to sample for an hour: the dispatcher has nothing to do,
// yet it must keep ticking liveness, or /healthz would fail after the liveness timeout (at least 60 s)
// and Kubernetes would restart a healthy pod. The observation window is that timeout and a few seconds.
TEST(QueueTest, TheDispatcherStaysLiveWhileEveryHandlerRunsALongRecord) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  enqueue_n(dsn, "jobs", 1);
  auto options = fast_options("jobs");
  options.concurrency = 1;
  options.depth_sample_interval = std::chrono::hours(1);
  std::atomic<bool> release{false};
  Worker w(dsn, options, [&](const Record&, const wo::worker::CancelToken& token) {
    while (!release && !token.cancelled()) token.wait_for(milliseconds(50));
  });
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 1; }));
  EXPECT_FALSE(wait_until([&] { return !w.live(); }, seconds(65))) << "liveness failed while a handler ran";
  release = true;
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 1; }));
}

// The resetter took a record back from a handler that is slow but alive (its worker missed heartbeats,
// or another replica's resetter judged it stalled). The process must not claim it again while that run
// goes on, and the first run's end must not complete the record under a second run.
TEST(QueueTest, ARecordTakenBackFromALiveHandlerIsNotClaimedAgainByTheSameProcessWhileItRuns) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t slow = enqueue_n(dsn, "jobs", 1, R"({"slow": true})")[0];
  auto options = fast_options("jobs");
  options.heartbeat_interval = std::chrono::hours(1);  // this process does not notice the reset itself
  options.resetter = false;                            // the test resets the record itself
  std::atomic<int> started{0}, released{0};
  Worker w(dsn, options, [&](const Record& r, const wo::worker::CancelToken&) {
    if (r.payload.find("slow") == std::string::npos) return;
    // Run n goes on until the test releases n runs, whatever its token says.
    int run = ++started;
    while (released < run) std::this_thread::sleep_for(milliseconds(5));
  });
  const std::string slow_sql = "SELECT count(*) FROM jobs WHERE id = " + std::to_string(slow);
  ASSERT_TRUE(wait_until([&] { return started == 1; }));
  {
    pqxx::connection c(dsn);
    // A resetter whose stalled_after every heartbeat exceeds.
    ASSERT_EQ(QueueStore::reset_stalled(c, QueueTable("jobs"), milliseconds(0), 3, 100).requeued, 1);
  }
  // A record enqueued after it is claimed after it: once that one ran, a claim has looked at both.
  int64_t later = enqueue_n(dsn, "jobs", 1)[0];
  ASSERT_TRUE(wait_until([&] {
    return query_int(dsn,
                     "SELECT count(*) FROM jobs WHERE id = " + std::to_string(later) + " AND state = 'completed'") == 1;
  }));
  EXPECT_EQ(started.load(), 1) << "claimed again while its first run goes on";
  EXPECT_EQ(query_int(dsn, slow_sql + " AND state = 'queued'"), 1);
  // The first run ends: its outcome is not written (the record is no longer its own), then the record
  // runs again, and only the end of that second run completes it.
  released = 1;
  ASSERT_TRUE(wait_until([&] { return started == 2; }));
  EXPECT_EQ(query_int(dsn, slow_sql + " AND state = 'processing'"), 1);
  released = 2;
  ASSERT_TRUE(wait_until([&] { return query_int(dsn, slow_sql + " AND state = 'completed'") == 1; }));
  released = 100;
  w.stop();
  EXPECT_EQ(started.load(), 2);
}

// Each claim is a new attempt. Worker A's claim was reset (A was cut off from the database for longer
// than stalled_after, so it never heard) and worker B claimed the record again: A's late outcome must
// not finish B's attempt, even where nothing else tells the two apart. Here A and B are two queue workers
// of one process (two jobs on one table), so they share the worker id the guards also match.
TEST(QueueTest, ALateOutcomeOfAResetAttemptNeverFinishesTheAttemptThatReplacedIt) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t id = enqueue_n(dsn, "jobs", 1)[0];
  const std::string worker_id = wo::worker::new_worker_id();
  const std::string record_sql = "SELECT count(*) FROM jobs WHERE id = " + std::to_string(id);
  auto options = fast_options("jobs");
  options.concurrency = 1;
  options.resetter = false;  // the test resets the record itself
  auto options_a = options;
  options_a.heartbeat_interval = std::chrono::hours(1);  // A does not notice the reset
  std::atomic<bool> release_a{false}, release_b{false};
  std::atomic<int> runs_a{0}, runs_b{0};
  std::mutex mu;
  std::vector<std::string> tokens;  // the attempt token each run was given
  auto holding = [&](std::atomic<int>& runs, std::atomic<bool>& release) {
    return [&runs, &release, &mu, &tokens](const Record& r, const wo::worker::CancelToken&) {
      {
        std::lock_guard lock(mu);
        tokens.push_back(r.attempt_token);
      }
      ++runs;
      while (!release) std::this_thread::sleep_for(milliseconds(5));
    };
  };
  Worker a(dsn, options_a, holding(runs_a, release_a), seconds(10), worker_id);
  ASSERT_TRUE(wait_until([&] { return runs_a == 1; }));
  {
    pqxx::connection c(dsn);
    ASSERT_EQ(QueueStore::reset_stalled(c, QueueTable("jobs"), milliseconds(0), 3, 100).requeued, 1);
  }
  Worker b(dsn, options, holding(runs_b, release_b), seconds(10), worker_id);
  ASSERT_TRUE(wait_until([&] { return runs_b == 1; }));
  ASSERT_EQ(query_int(dsn, record_sql + " AND state = 'processing'"), 1);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(tokens.size(), 2u);
    EXPECT_NE(tokens[0], tokens[1]) << "a claim is a new attempt";
    EXPECT_EQ(tokens[1], query_text(dsn, "SELECT attempt_token::text FROM jobs")) << "the handler knows its attempt";
  }

  // A's run ends; its dispatcher writes the outcome (counted processed) or drops it (counted lost).
  release_a = true;
  auto& processed_a = a.metrics().counter("worker_queue_processed_total", "", {"queue"}).with({"jobs"});
  auto& lost_a = a.metrics().counter("worker_queue_lost_total", "", {"queue"}).with({"jobs"});
  ASSERT_TRUE(wait_until([&] { return processed_a.value() + lost_a.value() >= 1; }));
  EXPECT_EQ(processed_a.value(), 0) << "A completed the attempt that replaced its own";
  EXPECT_EQ(query_int(dsn, record_sql + " AND state = 'processing'"), 1) << "B's attempt is still running";

  release_b = true;
  ASSERT_TRUE(wait_until([&] { return query_int(dsn, record_sql + " AND state = 'completed'") == 1; }));
  a.stop();
  b.stop();
  EXPECT_EQ(runs_a.load() + runs_b.load(), 2);
}

// A producer holds a row lock on a record this worker runs (a SELECT ... FOR UPDATE left open, or
// request_cancel inside a longer transaction). The dispatcher must not wait on it: the other records
// keep heartbeating and completing, the locked record's outcome is written once the lock is gone, and
// nothing is reset or run twice. The statement timeout is far above the deadlines below, so a
// dispatcher waiting on the lock fails them.
TEST(QueueTest, ARowLockOnOneRecordNeverHoldsBackTheOthersHeartbeatsOrCompletions) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t locked = enqueue_n(dsn, "jobs", 1, R"({"hold": "locked"})")[0];
  int64_t other = enqueue_n(dsn, "jobs", 1, R"({"hold": "other"})")[0];
  auto options = fast_options("jobs");
  options.stalled_after = seconds(25);
  std::atomic<bool> release_locked{false}, release_other{false};
  std::mutex mu;
  std::map<int64_t, int> runs;
  Worker w(
      dsn, options,
      [&](const Record& r, const wo::worker::CancelToken&) {
        {
          std::lock_guard lock(mu);
          ++runs[r.id];
        }
        auto& release = r.id == locked ? release_locked : release_other;
        if (r.payload.find("hold") == std::string::npos) return;
        while (!release) std::this_thread::sleep_for(milliseconds(5));
      },
      seconds(20));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 2; }));

  pqxx::connection producer(dsn);
  pqxx::work lock_tx(producer);
  lock_tx.exec("SELECT id FROM jobs WHERE id = " + std::to_string(locked) + " FOR UPDATE");
  std::string locked_at = query_text(dsn, "SELECT clock_timestamp()::text");
  release_locked = true;  // its outcome now waits for the lock
  enqueue_n(dsn, "jobs", 5);
  EXPECT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 5; }, seconds(10)))
      << "completions wait behind the row lock";
  EXPECT_TRUE(wait_until(
      [&] {
        return query_int(dsn, "SELECT count(*) FROM jobs WHERE id = " + std::to_string(other) +
                                  " AND last_heartbeat_at > '" + locked_at + "'::timestamptz + interval '500 ms'") == 1;
      },
      seconds(10)))
      << "heartbeats wait behind the row lock";
  EXPECT_EQ(
      query_int(dsn, "SELECT count(*) FROM jobs WHERE id = " + std::to_string(locked) + " AND state = 'processing'"),
      1);
  lock_tx.commit();

  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 6; }));
  EXPECT_EQ(
      query_int(dsn, "SELECT count(*) FROM jobs WHERE id = " + std::to_string(locked) + " AND state = 'completed'"), 1);
  release_other = true;
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 7; }));
  w.stop();
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_resets + num_failures > 0"), 0);
  std::lock_guard lock(mu);
  EXPECT_EQ(runs.size(), 7u);
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "record " << id;
}

// request_cancel inside a producer's longer transaction holds the record's row lock until that
// transaction ends: meanwhile the worker's other records flow; then the cancellation is honoured.
TEST(QueueTest, ACancelRequestInALongTransactionNeverHoldsBackTheOthers) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  int64_t target = enqueue_n(dsn, "jobs", 1, R"({"hold": true})")[0];
  auto options = fast_options("jobs");
  options.stalled_after = seconds(25);
  Worker w(
      dsn, options,
      [&](const Record& r, const wo::worker::CancelToken& token) {
        if (r.payload.find("hold") == std::string::npos) return;
        token.wait_for(seconds(60));
        token.throw_if_cancelled();
      },
      seconds(20));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "processing") == 1; }));
  pqxx::connection producer(dsn);
  pqxx::work tx(producer);
  ASSERT_TRUE(request_cancel(tx, "jobs", target));
  enqueue_n(dsn, "jobs", 5);
  EXPECT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 5; }, seconds(10)))
      << "completions wait behind the producer's row lock";
  EXPECT_EQ(count_state(dsn, "jobs", "processing"), 1) << "the request is not committed yet";
  tx.commit();
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "canceled") == 1; }));
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_resets + num_failures > 0"), 0);
}

// The lag is the age of the oldest record due now, whatever its priority: not of records due later, in
// flight, finished or being cancelled.
TEST(QueueTest, LagIsHowLongTheOldestDueRecordHasBeenDue) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  pqxx::connection c(dsn);
  const QueueTable table("jobs");
  EXPECT_EQ(QueueStore::lag_seconds(c, table), 0.0) << "an empty queue";
  run_sql(dsn,
          "INSERT INTO jobs (state, priority, process_after, cancel_requested) VALUES "
          "('queued', 5, now() - interval '10 seconds', false),"
          "('errored', 0, now() - interval '100 seconds', false),"  // the oldest due: a low priority
          "('queued', 0, now() + interval '1 hour', false),"        // not due yet
          "('queued', 9, now() - interval '1000 seconds', true),"   // being cancelled
          "('processing', 0, now() - interval '5000 seconds', false),"
          "('completed', 0, now() - interval '9000 seconds', false)");
  const double lag = QueueStore::lag_seconds(c, table);
  EXPECT_GE(lag, 100.0);
  EXPECT_LT(lag, 110.0);
  run_sql(dsn, "UPDATE jobs SET state = 'processing' WHERE priority = 0 AND state = 'errored'");
  const double after = QueueStore::lag_seconds(c, table);
  EXPECT_GE(after, 10.0);
  EXPECT_LT(after, 20.0);
}

TEST(QueueTest, ResetterRequeuesStalledRecordsAndFailsThemPastMaxResets) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  pqxx::connection c(dsn);
  {
    pqxx::nontransaction tx(c);
    tx.exec(
        "INSERT INTO jobs (state, last_heartbeat_at, num_resets, worker_id) VALUES "
        "('processing', now() - interval '1 hour', 0, gen_random_uuid()),"
        "('processing', now() - interval '1 hour', 2, gen_random_uuid()),"
        "('processing', now(), 0, gen_random_uuid())");
  }
  ResetResult r = QueueStore::reset_stalled(c, QueueTable("jobs"), seconds(30), 2, 100);
  EXPECT_EQ(r.requeued, 1);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs WHERE id = 1 AND state = 'queued' AND worker_id IS NULL"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs WHERE id = 2 AND state = 'failed'"), 3);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id = 3 AND state = 'processing'"), 1);
}

TEST(QueueTest, ResetterFinishesCancellationsNobodyElseWill) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  pqxx::connection c(dsn);
  {
    pqxx::nontransaction tx(c);
    tx.exec(
        "INSERT INTO jobs (state, last_heartbeat_at, num_resets, worker_id, cancel_requested) VALUES "
        "('processing', now() - interval '1 hour', 0, gen_random_uuid(), true),"  // its worker died
        "('processing', now() - interval '1 hour', 5, gen_random_uuid(), true),"  // even past max_resets
        "('processing', now(), 0, gen_random_uuid(), true),"                      // its live worker will
        "('queued', NULL, 0, NULL, true),"                                        // waiting: never claimed
        "('errored', NULL, 0, NULL, true),"
        "('queued', NULL, 0, NULL, false)");
  }
  ResetResult r = QueueStore::reset_stalled(c, QueueTable("jobs"), seconds(30), 2, 100);
  EXPECT_EQ(r.canceled, 4);
  EXPECT_EQ(r.requeued + r.failed, 0);
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM jobs WHERE id IN (1, 2, 4, 5) AND state = 'canceled' AND finished_at IS "
                      "NOT NULL AND worker_id IS NULL"),
            4);
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs WHERE id = 1"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs WHERE id = 4"), 0);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id = 3 AND state = 'processing'"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id = 6 AND state = 'queued'"), 1);
}

TEST(QueueTest, JanitorDeletesOldFinishedRecordsInBoundedBatches) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  pqxx::connection c(dsn);
  {
    pqxx::nontransaction tx(c);
    tx.exec(
        "INSERT INTO jobs (state, finished_at) SELECT 'completed', now() - interval '2 days' FROM generate_series(1, "
        "25);"
        "INSERT INTO jobs (state, finished_at) SELECT 'failed', now() FROM generate_series(1, 5);"
        "INSERT INTO jobs (state) SELECT 'queued' FROM generate_series(1, 5);");
  }
  EXPECT_EQ(QueueStore::delete_finished(c, QueueTable("jobs"), std::chrono::hours(24), 10), 10);
  EXPECT_EQ(QueueStore::delete_finished(c, QueueTable("jobs"), std::chrono::hours(24), 10), 10);
  EXPECT_EQ(QueueStore::delete_finished(c, QueueTable("jobs"), std::chrono::hours(24), 10), 5);
  EXPECT_EQ(QueueStore::delete_finished(c, QueueTable("jobs"), std::chrono::hours(24), 10), 0);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs"), 10);
}

TEST(QueueTest, EnqueueIsTransactionalAndNotifyWakesTheWorker) {
  std::string dsn = fresh_database();
  create_queue(dsn, "jobs");
  auto options = fast_options("jobs");
  options.poll_interval = std::chrono::hours(1);  // only a NOTIFY can make it claim
  std::atomic<int> handled{0};
  Worker w(dsn, options, [&](const Record&, const wo::worker::CancelToken&) { ++handled; });
  ASSERT_TRUE(wait_until([&] { return w.ready(); }));
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    enqueue(tx, "jobs", R"({"n": 1})");
    tx.abort();
  }
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs"), 0);
  {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec(R"(INSERT INTO jobs (payload) VALUES ('{"plain": "sql"}'))");
  }
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == 1; }));
  EXPECT_EQ(handled.load(), 1);
}

TEST(QueueTest, RecoversFromAPostgresRestartWithoutLosingRecords) {
  wo::testing::PostgresServer server;  // its own server: this test stops it
  std::string dsn = server.connection_string();
  create_queue(dsn, "jobs");
  constexpr int kRecords = 300;
  enqueue_n(dsn, "jobs", kRecords);
  std::atomic<int> runs{0};
  auto options = fast_options("jobs");
  options.stalled_after = seconds(30);  // no resets: the worker itself must finish what it holds
  Worker w(dsn, options, [&](const Record&, const wo::worker::CancelToken& token) {
    token.wait_for(milliseconds(5));
    ++runs;
  });
  ASSERT_TRUE(wait_until([&] { return runs >= 50; }));
  server.stop();
  ASSERT_TRUE(wait_until([&] { return !w.ready(); })) << "readiness must turn false while the database is gone";
  EXPECT_TRUE(w.live()) << "a database outage must not fail liveness (no crash loop)";
  server.start();
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "jobs", "completed") == kRecords; }, seconds(60)));
  EXPECT_TRUE(w.ready());
  w.stop();
  EXPECT_EQ(runs.load(), kRecords) << "a record ran twice: its outcome was lost in the outage";
}

}  // namespace
}  // namespace wo::queue
