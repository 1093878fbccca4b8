// Integration tests of the operators' queue operations (queue/admin.h) against a real Postgres.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "queue/admin.h"
#include "queue/enqueue.h"
#include "queue/schema.h"
#include "queue/store.h"
#include "tests/worker_test_support.h"

namespace wo::queue {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using wo::worker::testing::fresh_database;
using wo::worker::testing::query_int;
using wo::worker::testing::query_text;
using wo::worker::testing::run_sql;

// One record per state (ids 1..6 in kStates' order: queued, processing, errored, completed, failed,
// canceled), each finished ones 2 hours ago, plus a completed one finished now (id 7) and a failed one
// finished now (id 8).
std::string queue_with_every_state() {
  std::string dsn = fresh_database();
  pqxx::connection c(dsn);
  migrate(c, QueueTable("jobs"));
  run_sql(dsn,
          "INSERT INTO jobs (state, finished_at, num_failures, num_resets, failure_message, attempt_token, worker_id,"
          " process_after) VALUES"
          " ('queued', NULL, 0, 0, NULL, NULL, NULL, now() - interval '30 seconds'),"
          " ('processing', NULL, 1, 0, NULL, gen_random_uuid(), gen_random_uuid(), now()),"
          " ('errored', NULL, 1, 0, 'boom', NULL, NULL, now() + interval '1 hour'),"
          " ('completed', now() - interval '2 hours', 0, 0, NULL, gen_random_uuid(), gen_random_uuid(), now()),"
          " ('failed', now() - interval '2 hours', 5, 2, 'gave up', gen_random_uuid(), gen_random_uuid(), now()),"
          " ('canceled', now() - interval '2 hours', 1, 0, NULL, gen_random_uuid(), gen_random_uuid(), now()),"
          " ('completed', now(), 0, 0, NULL, gen_random_uuid(), gen_random_uuid(), now()),"
          " ('failed', now(), 5, 0, 'recent', gen_random_uuid(), gen_random_uuid(), now())");
  return dsn;
}

RecordFilter filter(std::optional<int64_t> id, std::optional<std::string> state = {},
                    std::optional<milliseconds> older_than = {}) {
  RecordFilter f;
  f.id = id;
  f.state = std::move(state);
  f.older_than = older_than;
  return f;
}

std::string state_of(const std::string& dsn, int id) {
  return query_text(dsn, "SELECT state FROM jobs WHERE id = " + std::to_string(id));
}

TEST(QueueAdminTest, StatsCountEveryStateTheDueRecordsAndRecentThroughput) {
  std::string dsn = queue_with_every_state();
  pqxx::connection c(dsn);
  QueueStats s = queue_stats(c, QueueTable("jobs"));
  EXPECT_EQ(s.states.count, (std::array<int64_t, 6>{1, 1, 1, 2, 2, 1}));
  EXPECT_EQ(s.states.capped, (std::array<bool, 6>{}));
  EXPECT_EQ(s.due_now, 1) << "the errored record is not due for an hour";
  ASSERT_TRUE(s.oldest_due_id.has_value());
  EXPECT_EQ(*s.oldest_due_id, 1);
  EXPECT_GE(s.lag_seconds, 29.0);
  for (const auto& [minutes, tp] : s.finished) {
    EXPECT_EQ(tp.completed, 1) << minutes << "m: only the record finished now";
    EXPECT_EQ(tp.failed, 1) << minutes << "m";
  }
  EXPECT_TRUE(table_exists(c, QueueTable("jobs")));
  EXPECT_FALSE(table_exists(c, QueueTable("nope")));
}

// Each group of states is read up to the cap: a group over it is marked capped and counts only the
// records read (for finished ones, the newest), while the other groups stay exact.
TEST(QueueAdminTest, StateCountsAreExactUpToTheCapAndMarkedCappedBeyondIt) {
  std::string dsn = queue_with_every_state();  // finished: 2 completed, 2 failed, 1 canceled
  pqxx::connection c(dsn);
  const QueueTable t("jobs");
  StateCounts exact = state_counts(c, t, 5);
  EXPECT_EQ(exact.count, (std::array<int64_t, 6>{1, 1, 1, 2, 2, 1}));
  EXPECT_EQ(exact.capped, (std::array<bool, 6>{})) << "5 finished records, cap 5";

  StateCounts capped = state_counts(c, t, 2);
  EXPECT_EQ(capped.count[0], 1) << "queued: the waiting group (2) is within the cap";
  EXPECT_EQ(capped.count[2], 1) << "errored";
  EXPECT_FALSE(capped.capped[0]);
  EXPECT_FALSE(capped.capped[1]) << "processing";
  // The newest 3 finished records (cap + 1): the completed and failed ones finished now, then one of
  // those finished 2 hours ago.
  EXPECT_TRUE(capped.capped[3] && capped.capped[4]);
  EXPECT_EQ(capped.count[3] + capped.count[4] + capped.count[5], 3);
  EXPECT_GE(capped.count[3], 1);
  EXPECT_GE(capped.count[4], 1);
}

TEST(QueueAdminTest, FinishedPerMinuteCountsByAgeInMinutes) {
  std::string dsn = queue_with_every_state();
  run_sql(dsn,
          "INSERT INTO jobs (state, finished_at) VALUES ('completed', now() - interval '90 seconds'),"
          " ('completed', now() - interval '14 minutes 30 seconds'), ('failed', now() - interval '16 minutes')");
  pqxx::connection c(dsn);
  auto per_minute = finished_per_minute(c, QueueTable("jobs"));
  EXPECT_EQ(per_minute[0].completed, 1);
  EXPECT_EQ(per_minute[0].failed, 1);
  EXPECT_EQ(per_minute[1].completed, 1);
  EXPECT_EQ(per_minute[14].completed, 1);
  int64_t failed = 0;
  for (const auto& m : per_minute) failed += m.failed;
  EXPECT_EQ(failed, 1) << "the one finished 16 minutes ago is outside the window";
  QueueStats s = queue_stats(c, QueueTable("jobs"));
  EXPECT_EQ(s.finished[0].second.completed, 1);
  EXPECT_EQ(s.finished[1].second.completed, 2);
  EXPECT_EQ(s.finished[2].second.completed, 3);
}

TEST(QueueAdminTest, RetryPutsFailedAndCanceledRecordsBackDueNowAndNothingElse) {
  std::string dsn = queue_with_every_state();
  pqxx::connection c(dsn);
  const QueueTable t("jobs");
  EXPECT_TRUE(retry_records(c, t, filter({}, "processing")).empty()) << "a processing record is never retried";
  EXPECT_TRUE(retry_records(c, t, filter(2)).empty());
  EXPECT_TRUE(retry_records(c, t, filter(1)).empty()) << "a waiting record is left alone";
  EXPECT_TRUE(retry_records(c, t, filter({}, "completed")).empty());
  EXPECT_EQ(state_of(dsn, 2), "processing");

  EXPECT_EQ(retry_records(c, t, filter({}, "failed", hours(1))), (std::vector<int64_t>{5}));
  EXPECT_EQ(state_of(dsn, 8), "failed") << "finished too recently for --older-than";
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM jobs WHERE id = 5 AND state = 'queued' AND num_failures = 0"
                      " AND num_resets = 0 AND finished_at IS NULL AND attempt_token IS NULL AND worker_id IS NULL"
                      " AND process_after <= now() AND NOT cancel_requested AND failure_message = 'gave up'"),
            1);
  run_sql(dsn, "UPDATE jobs SET cancel_requested = true WHERE id = 6");
  EXPECT_EQ(retry_records(c, t, filter(6)), (std::vector<int64_t>{6}));
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id = 6 AND state = 'queued' AND NOT cancel_requested"), 1);

  // A retried record is claimable again, highest priority and oldest due first like any other.
  QueueStore store(t, "00000000-0000-0000-0000-000000000001", "test");
  std::vector<int64_t> claimed;
  for (const auto& r : store.claim(c, 10)) claimed.push_back(r.id);
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed, (std::vector<int64_t>{1, 5, 6}));
}

TEST(QueueAdminTest, RetrySkipsARecordAnotherTransactionHoldsInsteadOfWaiting) {
  std::string dsn = queue_with_every_state();
  pqxx::connection holder(dsn), c(dsn);
  pqxx::work hold(holder);
  hold.exec("SELECT id FROM jobs WHERE id = 5 FOR UPDATE");
  // Waiting for the held row would end in a lock timeout error instead of passing: no timing needed.
  pqxx::nontransaction(c).exec("SET lock_timeout = '2s'");
  EXPECT_EQ(retry_records(c, QueueTable("jobs"), filter({}, "failed")), (std::vector<int64_t>{8}));
  hold.abort();
  EXPECT_EQ(state_of(dsn, 5), "failed");
}

TEST(QueueAdminTest, PurgeDeletesOnlyFinishedRecordsOfTheStateAndAgeAsked) {
  std::string dsn = queue_with_every_state();
  pqxx::connection c(dsn);
  const QueueTable t("jobs");
  // A processing record with a finished_at (e.g. set by hand) is still never purged.
  run_sql(dsn, "UPDATE jobs SET finished_at = now() - interval '3 hours' WHERE id IN (1, 2, 3)");
  EXPECT_TRUE(purge_records(c, t, filter({}, "queued", milliseconds(0))).empty());
  EXPECT_TRUE(purge_records(c, t, filter({}, "processing", milliseconds(0))).empty());
  EXPECT_EQ(purge_records(c, t, filter({}, "completed", hours(1))), (std::vector<int64_t>{4}));
  EXPECT_EQ(purge_records(c, t, filter({}, {}, milliseconds(0)), 2), (std::vector<int64_t>{5, 6, 7, 8}))
      << "in batches of 2 until none is left";
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs"), 3);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id IN (1, 2, 3)"), 3);
}

TEST(QueueAdminTest, CancelOfAWaitingRecordCancelsItAndOfAProcessingOneOnlyRequestsIt) {
  std::string dsn = queue_with_every_state();
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  EXPECT_TRUE(request_cancel(tx, "jobs", 1));
  EXPECT_TRUE(request_cancel(tx, "jobs", 2));
  EXPECT_FALSE(request_cancel(tx, "jobs", 4)) << "already finished";
  tx.commit();
  EXPECT_EQ(state_of(dsn, 1), "canceled");
  EXPECT_EQ(state_of(dsn, 2), "processing");
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE id = 2 AND cancel_requested"), 1);
}

TEST(QueueAdminTest, ListIsNewestFirstFilteredAndLimitedAndShowHasEveryColumn) {
  std::string dsn = queue_with_every_state();
  run_sql(dsn, "ALTER TABLE jobs ADD COLUMN tenant text; UPDATE jobs SET payload = '{\"n\": 7}', tenant = 'acme'");
  pqxx::connection c(dsn);
  const QueueTable t("jobs");
  auto all = list_records(c, t, "", 3);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].id, 8);
  EXPECT_EQ(all[2].id, 6);
  auto failed = list_records(c, t, "failed", 20);
  ASSERT_EQ(failed.size(), 2U);
  EXPECT_EQ(failed[1].failure_message.value_or(""), "gave up");
  EXPECT_EQ(failed[1].finished_at.size(), 19U) << failed[1].finished_at;
  EXPECT_NE(failed[1].json.find("\"failure_message\":\"gave up\""), std::string::npos) << failed[1].json;

  auto detail = show_record(c, t, 5);
  ASSERT_TRUE(detail.has_value());
  EXPECT_NE(detail->json.find("\"payload\":{\"n\": 7}"), std::string::npos) << detail->json;
  EXPECT_NE(detail->json.find("\"tenant\":\"acme\""), std::string::npos) << detail->json;
  bool saw_tenant = false;
  for (const auto& [name, value] : detail->columns) saw_tenant = saw_tenant || (name == "tenant" && value == "acme");
  EXPECT_TRUE(saw_tenant);
  EXPECT_FALSE(show_record(c, t, 999).has_value());
}

}  // namespace
}  // namespace wo::queue
