// queue.resetter: the resetter of any queue table, as a job of its own (e.g. for a table whose workers
// run with resetter: false, or live outside this binary).
#include "core/config.h"
#include "core/registry.h"
#include "queue/maintenance.h"

namespace wo::jobs {
namespace {

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  queue::QueueOptions o;
  o.table = wo::worker::validate_identifier("table", r.required_string("table"));
  o.stalled_after = r.duration("stalled_after", o.stalled_after, std::chrono::milliseconds(100));
  o.max_resets = static_cast<int>(r.integer("max_resets", o.max_resets, 0, 1000000));
  o.resetter_interval = r.duration("interval", o.resetter_interval, std::chrono::milliseconds(10));
  r.finish();
  std::vector<std::unique_ptr<wo::worker::Routine>> out;
  out.push_back(queue::make_resetter(o, ctx.database, *ctx.metrics, false));
  return out;
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "queue.resetter",
    .description = "Requeues records of a queue table whose worker stopped heartbeating; fails them past max_resets; "
                   "finishes their cancellations",
    .config_help =
        "table (required): the queue table\n"
        "stalled_after (1m): heartbeat age after which a processing record counts as stalled (longer than the "
        "workers' --statement-timeout + heartbeat_interval)\n"
        "max_resets (3): resets allowed; the next stall fails the record\n"
        "interval (10s): how often to look\n",
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs
