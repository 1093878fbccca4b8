// The soak test: three real worker processes (job test.run-log) burn down one queue table while, every
// few seconds, one of them is killed with SIGKILL (and started again) or worker connections are
// terminated with pg_terminate_backend. Afterwards the table and two logs prove the queue's promises:
//
// - every record completed, none stranded in processing, queued or errored;
// - each record completed exactly once, by the attempt claimed last, whose own run had ended by then
//   (so never by a run whose claim was reset, e.g. a run on a worker killed or cut off meanwhile);
// - a record's attempts never overlap: each claim follows the end (outcome or reset) of the previous
//   one, every run started after its own claim, and a run whose attempt ended by its worker's outcome had
//   returned by then. A run killed by kill -9 never ends: what keeps the next attempt from overlapping
//   it is that the next claim comes only after the resetter took the dead one's claim back, and the dead
//   run can never complete afterwards.
//
// The logs: <table>_runs, written by the job (one row per run: record, attempt token, pid, start, end),
// and soak_transitions, written by a trigger on the queue table (every claim and every end of a claim,
// with the attempt tokens before and after, in commit order per record).
//
// Sizes come from the environment, so that `make soak` runs the long version with the same code:
// WO_SOAK_RECORDS (default 5000), WO_SOAK_CONCURRENCY (4), WO_SOAK_WORK (100ms per record),
// WO_SOAK_FAULT_INTERVAL (3s between faults). Figures are printed at the end; nothing asserts timings.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "queue/enqueue.h"
#include "queue/schema.h"
#include "tests/worker_process.h"
#include "tests/worker_test_support.h"
#include "wo/cli.h"

namespace wo::worker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fresh_database;
using testing::query_int;
using testing::run_sql;
using testing::wait_until;
using testing::WorkerProcess;

constexpr int kProcesses = 3;

long long env_integer(const char* name, long long fallback) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test never modifies its environment
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stoll(value) : fallback;
}

milliseconds env_duration(const char* name, milliseconds fallback) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test never modifies its environment
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? wo::cli::parse_duration(value) : fallback;
}

// The rows sql returns, one per line, fields separated by spaces ("" when none): what a failed check
// prints.
std::string rows_of(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  std::string out;
  for (const auto& row : tx.exec(sql)) {
    for (const auto& field : row) out += std::string(field.is_null() ? "NULL" : field.c_str()) + " ";
    out += "\n";
  }
  return out;
}

// Logs every claim and every end of a claim of the queue table, in commit order per record (the row
// lock orders two changes of one record, and seq is taken inside the change).
void install_transition_log(const std::string& dsn) {
  run_sql(dsn,
          "CREATE TABLE soak_transitions (seq bigserial PRIMARY KEY, record_id bigint NOT NULL, old_state text,"
          " new_state text, old_token uuid, new_token uuid, reset boolean NOT NULL,"
          " at timestamptz NOT NULL DEFAULT clock_timestamp());"
          "CREATE INDEX ON soak_transitions (record_id, seq);"
          "CREATE FUNCTION soak_log_transition() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
          " INSERT INTO soak_transitions (record_id, old_state, new_state, old_token, new_token, reset)"
          " VALUES (NEW.id, OLD.state, NEW.state, OLD.attempt_token, NEW.attempt_token,"
          " NEW.num_resets > OLD.num_resets);"
          " RETURN NULL; END $$;"
          "CREATE TRIGGER soak_log_transition AFTER UPDATE ON jobs FOR EACH ROW"
          " WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.attempt_token IS DISTINCT FROM NEW.attempt_token)"
          " EXECUTE FUNCTION soak_log_transition();"
          "CREATE TABLE soak_kills (pid integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());");
}

std::unique_ptr<WorkerProcess> start_worker(const std::string& dsn, const std::string& config) {
  return std::make_unique<WorkerProcess>(
      std::vector<std::string>{"--job=test.run-log", "--database-url=" + dsn, "--shutdown-timeout=5s"}, config);
}

TEST(WorkerSoakTest, KilledProcessesAndTerminatedConnectionsNeverLoseOrDoubleComplete) {
  const long long records = env_integer("WO_SOAK_RECORDS", 5000);
  const long long concurrency = env_integer("WO_SOAK_CONCURRENCY", 4);
  const milliseconds work = env_duration("WO_SOAK_WORK", milliseconds(100));
  const milliseconds fault_interval = env_duration("WO_SOAK_FAULT_INTERVAL", seconds(3));
  // Every failure is retried and every stall reset as often as it takes: a record may only end completed.
  const std::string config = "table: jobs\nconcurrency: " + std::to_string(concurrency) +
                             "\nwork: " + wo::cli::format_duration(work) +
                             "\npoll_interval: 200ms\nheartbeat_interval: 500ms\nstalled_after: 3s\n"
                             "resetter_interval: 500ms\nmax_attempts: 1000000\nmax_resets: 1000000\n"
                             "retry_backoff: 50ms\nretry_backoff_max: 1s\njanitor: false\n";

  std::string dsn = fresh_database();
  {
    pqxx::connection c(dsn);
    queue::migrate(c, queue::QueueTable("jobs"));
  }
  install_transition_log(dsn);
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    queue::enqueue_many(tx, "jobs", std::vector<std::string>(static_cast<std::size_t>(records), "{}"));
    tx.commit();
  }

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<WorkerProcess>> workers;
  workers.reserve(kProcesses);
  for (int i = 0; i < kProcesses; ++i) workers.push_back(start_worker(dsn, config));

  // Faults until every record is done: a kill -9 (and a restart), then connections terminated, in turn.
  std::mt19937 rng{std::random_device{}()};
  long long kills = 0, termination_rounds = 0, terminated = 0;
  const auto give_up = started + seconds(120) + milliseconds(records * 20);  // far beyond any healthy run
  auto completed = [&] { return query_int(dsn, "SELECT count(*) FROM jobs WHERE state = 'completed'"); };
  for (bool kill_next = true; completed() < records; kill_next = !kill_next) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up)
        << completed() << " of " << records << " records completed\n"
        << rows_of(dsn, "SELECT state, count(*) FROM jobs GROUP BY state");
    std::this_thread::sleep_for(fault_interval / 2);  // the fault-injection interval
    if (kill_next) {
      auto& victim = workers[std::uniform_int_distribution<std::size_t>(0, workers.size() - 1)(rng)];
      const pid_t pid = victim->pid();
      victim->signal(SIGKILL);
      ASSERT_EQ(victim->wait_exit(seconds(10)), 128 + SIGKILL);
      run_sql(dsn, "INSERT INTO soak_kills (pid) VALUES (" + std::to_string(pid) + ")");
      victim = start_worker(dsn, config);
      ++kills;
    } else {
      // About a third of the workers' connections: dispatchers, listeners, resetters and handlers alike.
      terminated += query_int(dsn,
                              "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND application_name LIKE 'worker:%'"
                              " AND random() < 0.33");
      ++termination_rounds;
    }
  }
  const double seconds_taken = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A worker started by the last fault may not handle signals yet, and SIGTERM would kill it: wait until
  // it has said where it serves, which it does after it has set up its signal handling.
  for (auto& w : workers) ASSERT_TRUE(wait_until([&] { return w->http_port() > 0; })) << w->output();
  for (auto& w : workers) w->signal(SIGTERM);
  for (auto& w : workers) EXPECT_EQ(w->wait_exit(seconds(30)), 0) << w->output();

  // Every record completed; nothing stranded.
  EXPECT_EQ(rows_of(dsn, "SELECT state, count(*) FROM jobs WHERE state <> 'completed' GROUP BY state"), "");
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs"), records);
  // Each record completed once, by the attempt claimed last, whose own run had ended by then.
  EXPECT_EQ(rows_of(dsn,
                    "SELECT record_id, count(*) FROM soak_transitions WHERE new_state = 'completed'"
                    " GROUP BY record_id HAVING count(*) <> 1 LIMIT 5"),
            "")
      << "records completed more than once";
  EXPECT_EQ(rows_of(dsn,
                    "SELECT c.record_id, c.old_token, c.at FROM soak_transitions c WHERE c.new_state = 'completed'"
                    " AND NOT EXISTS (SELECT 1 FROM jobs_runs r WHERE r.record_id = c.record_id"
                    " AND r.attempt_token = c.old_token AND r.ended_at <= c.at) LIMIT 5"),
            "")
      << "completions not preceded by the end of their own attempt's run";
  EXPECT_EQ(rows_of(dsn,
                    "SELECT id FROM jobs j WHERE attempt_token IS DISTINCT FROM (SELECT new_token FROM soak_transitions"
                    " t WHERE t.record_id = j.id AND t.new_state = 'processing' ORDER BY seq DESC LIMIT 1) LIMIT 5"),
            "")
      << "records whose final token is not that of their last claim";
  // One run per attempt.
  EXPECT_EQ(rows_of(dsn,
                    "SELECT record_id, attempt_token, count(*) FROM jobs_runs GROUP BY record_id, attempt_token"
                    " HAVING count(*) > 1 LIMIT 5"),
            "")
      << "attempts run more than once";
  // Attempts never overlap: a claim only follows the end of the previous claim, and an end only ends
  // the attempt claimed last.
  EXPECT_EQ(rows_of(dsn,
                    "SELECT record_id, seq, old_state, new_state FROM (SELECT *, lag(new_state) OVER w AS prev_state,"
                    " lag(new_token) OVER w AS prev_token FROM soak_transitions WINDOW w AS (PARTITION BY record_id"
                    " ORDER BY seq)) t WHERE (new_state = 'processing' AND prev_state = 'processing')"
                    " OR (old_state = 'processing' AND new_state <> 'processing' AND (prev_state IS DISTINCT FROM"
                    " 'processing' OR old_token IS DISTINCT FROM prev_token)) LIMIT 5"),
            "")
      << "a claim while claimed, or an end of an attempt that was not the current one";
  // Every run started after its own claim (so after the previous attempt's end, by the check above).
  EXPECT_EQ(rows_of(dsn,
                    "SELECT record_id, attempt_token, started_at FROM jobs_runs r WHERE NOT EXISTS (SELECT 1 FROM"
                    " soak_transitions c WHERE c.record_id = r.record_id AND c.new_state = 'processing'"
                    " AND c.new_token = r.attempt_token AND c.at <= r.started_at) LIMIT 5"),
            "")
      << "runs that started before their claim, or with a token no claim gave";
  // A run whose attempt its own worker ended (outcome written, not reset) had returned by then.
  EXPECT_EQ(rows_of(dsn,
                    "SELECT r.record_id, r.attempt_token, r.ended_at, e.at FROM jobs_runs r JOIN soak_transitions e"
                    " ON e.record_id = r.record_id AND e.old_token = r.attempt_token AND e.old_state = 'processing'"
                    " AND e.new_state <> 'processing' WHERE NOT e.reset AND r.ended_at > e.at LIMIT 5"),
            "")
      << "runs still going when their outcome was written";

  // The figures of this run (also in the test's XML properties).
  const long long runs = query_int(dsn, "SELECT count(*) FROM jobs_runs");
  const long long unfinished_runs = query_int(dsn, "SELECT count(*) FROM jobs_runs WHERE ended_at IS NULL");
  const long long resets = query_int(dsn, "SELECT count(*) FROM soak_transitions WHERE reset");
  const long long retries = query_int(dsn, "SELECT count(*) FROM soak_transitions WHERE new_state = 'errored'");
  // Runs that ended after the resetter took their claim back: their worker lived on, cut off from the
  // database for longer than stalled_after; their outcome was not written (checked above).
  const long long outlived = query_int(dsn,
                                       "SELECT count(*) FROM jobs_runs r JOIN soak_transitions e ON e.record_id ="
                                       " r.record_id AND e.old_token = r.attempt_token AND e.reset"
                                       " WHERE r.ended_at > e.at");
  const long long rerun_records =
      query_int(dsn, "SELECT count(*) FROM (SELECT record_id FROM jobs_runs GROUP BY record_id HAVING count(*) > 1) m");
  std::cout << "soak: " << records << " records, " << kProcesses << " worker processes x " << concurrency
            << " handlers, work " << wo::cli::format_duration(work) << ", " << seconds_taken << " s; " << kills
            << " kill -9, " << termination_rounds << " termination rounds (" << terminated
            << " connections terminated); " << runs << " runs (" << unfinished_runs << " never ended), "
            << rerun_records << " records run more than once, " << resets << " resets, " << retries << " retries, "
            << outlived << " runs outlived their reset claim\n";
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, long long>>{{"records", records},
                                                      {"kills", kills},
                                                      {"termination_rounds", termination_rounds},
                                                      {"connections_terminated", terminated},
                                                      {"runs", runs},
                                                      {"unfinished_runs", unfinished_runs},
                                                      {"resets", resets},
                                                      {"retries", retries},
                                                      {"runs_outliving_their_claim", outlived}}) {
    RecordProperty(key, std::to_string(value));
  }
  RecordProperty("seconds", std::to_string(seconds_taken));
}

}  // namespace
}  // namespace wo::worker
