// sql.periodic: runs a SQL script every interval, in one transaction, once per interval across all
// replicas (for schedulers, expirers and cleaners written in SQL).
#include "core/config.h"
#include "core/periodic.h"
#include "core/registry.h"

namespace wo::jobs {
namespace {

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  std::string sql = r.required_string("sql");
  wo::worker::PeriodicOptions p;
  p.name = "periodic-sql:" + ctx.job;
  p.interval = r.duration("interval", std::chrono::minutes(1), std::chrono::milliseconds(10));
  p.jitter = r.number("jitter", 0.1, 0.0, 0.5);
  p.run_at_start = r.boolean("run_at_start", true);
  bool single = r.boolean("single_runner", true);
  p.database = ctx.database;
  p.database->statement_timeout = r.duration("timeout", ctx.database.statement_timeout);
  r.finish();
  if (single) {
    // The lock keeps runs from overlapping (rolling updates overlap pods); the recorded last run makes all
    // replicas together run the script once per interval, not once per interval each.
    p.single_runner_key = "sql.periodic:" + ctx.job + ":" + sql;
    p.once_per_interval = true;
  }
  auto& rows = ctx.metrics->counter("worker_periodic_sql_rows_total", "Rows affected by periodic SQL runs", {"job"})
                   .with({ctx.job});
  std::vector<std::unique_ptr<wo::worker::Routine>> out;
  out.push_back(std::make_unique<wo::worker::PeriodicRoutine>(
      p,
      [sql, &rows](pqxx::connection* conn) {
        pqxx::work tx(*conn);
        pqxx::result res = tx.exec(sql);
        tx.commit();
        rows.inc(static_cast<double>(res.affected_rows()));
      },
      *ctx.metrics));
  return out;
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "sql.periodic",
    .description = "Runs a SQL script every interval in one transaction, once per interval across replicas",
    .config_help =
        "sql (required): the statements to run (one transaction)\n"
        "interval (1m): time between runs; jitter (0.1): +/- fraction of interval\n"
        "run_at_start (true): run once at startup instead of waiting an interval\n"
        "single_runner (true): one run per interval across all replicas (advisory lock, last run recorded in\n"
        "  wo_periodic_runs; the others skip the run)\n"
        "timeout (--statement-timeout): statement_timeout of the script\n",
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs
