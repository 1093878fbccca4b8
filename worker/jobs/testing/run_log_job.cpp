// test.run-log: a TEST job, not for production. It handles each record of its queue by logging the run
// in a side table, <table>_runs: one row per run, keyed by (record id, attempt token), with the worker's
// pid, when the run started and (if it got that far) when it ended; between the two it waits `work`
// (cancellable). The soak test (worker/tests/worker_soak_test.cpp) reads that table to prove that no
// record was completed by two runs and that no run started before the previous attempt's claim ended.
//
// The row is written when the run starts and updated when it ends, each in its own autocommit
// statement, so a run killed in between (kill -9, a terminated connection) stays without an end.
#include <unistd.h>

#include <memory>
#include <string>

#include "core/config.h"
#include "core/registry.h"
#include "queue/queue_job.h"

namespace wo::jobs::testing {
namespace {

using std::chrono::milliseconds;

class RunLog {
 public:
  RunLog(const std::string& table, milliseconds work, wo::worker::DatabaseOptions db)
      : runs_(queue::QueueTable(table).name() + "_runs"), work_(work), db_(std::move(db)) {}

  void handle(const queue::Record& record, const wo::worker::CancelToken& token) {
    // Each handler thread has its own connection (libpqxx connections are single-threaded); one that
    // failed is dropped, so the next run connects again (a terminated backend stays broken).
    thread_local std::unique_ptr<pqxx::connection> conn;
    try {
      if (!conn) conn = connect_and_create_table();
      {
        pqxx::nontransaction tx(*conn);
        tx.exec_params("INSERT INTO " + runs_ + " (record_id, attempt_token, worker_pid) VALUES ($1, $2::uuid, $3)",
                       record.id, record.attempt_token, static_cast<int>(::getpid()));
      }
      if (token.wait_for(work_)) token.throw_if_cancelled();
      pqxx::nontransaction tx(*conn);
      tx.exec_params(
          "UPDATE " + runs_ + " SET ended_at = clock_timestamp() WHERE record_id = $1 AND attempt_token = $2::uuid",
          record.id, record.attempt_token);
    } catch (const pqxx::failure&) {
      conn.reset();
      throw;
    }
  }

 private:
  std::unique_ptr<pqxx::connection> connect_and_create_table() const {
    auto conn = wo::worker::connect(db_);
    pqxx::work tx(*conn);
    // Every handler of every replica may get here at once: CREATE ... IF NOT EXISTS still races on the
    // catalog, so they take turns.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", runs_);
    // No unique key on (record_id, attempt_token): a second run of one attempt is what the soak test
    // looks for, and a key would turn it into a failed run instead.
    tx.exec("CREATE TABLE IF NOT EXISTS " + runs_ +
            " (record_id bigint NOT NULL, attempt_token uuid NOT NULL, worker_pid integer NOT NULL,"
            " started_at timestamptz NOT NULL DEFAULT clock_timestamp(), ended_at timestamptz)");
    tx.exec("CREATE INDEX IF NOT EXISTS " + runs_ + "_attempt_idx ON " + runs_ + " (record_id, attempt_token)");
    tx.commit();
    return conn;
  }

  std::string runs_;
  milliseconds work_;
  wo::worker::DatabaseOptions db_;
};

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  auto options = queue::read_queue_options(r);
  auto work = r.duration("work", milliseconds(10));
  r.finish();
  auto log = std::make_shared<RunLog>(options.table, work, ctx.database);
  return queue::queue_job_routines(
      ctx, options, [log](const queue::Record& rec, const wo::worker::CancelToken& token) { log->handle(rec, token); });
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "test.run-log",
    .description =
        "TEST ONLY: logs each run of a record (attempt token, start, end) in <table>_runs; the soak test's job",
    .config_help =
        std::string("work (10ms): time spent per record between logging the start and the end (cancellable)\n") +
        queue::kQueueOptionsHelp,
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs::testing
