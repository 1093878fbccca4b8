#include "queue/queue_job.h"

#include "queue/maintenance.h"
#include "queue/status_section.h"

namespace wo::queue {

std::vector<std::unique_ptr<wo::worker::Routine>> queue_job_routines(const wo::worker::JobContext& ctx,
                                                                     const QueueOptions& options, Handler handler) {
  validate_against_statement_timeout(options, ctx.database.statement_timeout);
  std::vector<std::unique_ptr<wo::worker::Routine>> out;
  out.push_back(std::make_unique<QueueWorker>(options, std::move(handler), ctx.database,
                                              QueueWorkerIdentity{ctx.job, ctx.worker_id, ctx.hostname}, *ctx.metrics));
  if (options.resetter) out.push_back(make_resetter(options, ctx.database, *ctx.metrics, true));
  if (options.janitor) out.push_back(make_janitor(options, ctx.database, *ctx.metrics, true));
  add_queue_status_section(ctx, QueueTable(options.table));
  return out;
}

}  // namespace wo::queue
