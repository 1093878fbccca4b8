// queue.janitor: deletes finished records of any queue table after a retention period.
#include "core/config.h"
#include "core/registry.h"
#include "queue/maintenance.h"

namespace wo::jobs {
namespace {

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  queue::QueueOptions o;
  o.table = wo::worker::validate_identifier("table", r.required_string("table"));
  o.retention = r.duration("retention", o.retention);
  o.janitor_interval = r.duration("interval", o.janitor_interval, std::chrono::milliseconds(10));
  o.janitor_batch = static_cast<int>(r.integer("batch_size", o.janitor_batch, 1, 1000000));
  o.janitor_max_batches = static_cast<int>(r.integer("max_batches", o.janitor_max_batches, 1, 1000000));
  r.finish();
  std::vector<std::unique_ptr<wo::worker::Routine>> out;
  out.push_back(queue::make_janitor(o, ctx.database, *ctx.metrics, false));
  return out;
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "queue.janitor",
    .description = "Deletes finished records of a queue table older than a retention period, in bounded batches",
    .config_help = "table (required): the queue table\n"
                   "retention (168h): finished records younger than this are kept\n"
                   "interval (1h): how often to clean\n"
                   "batch_size (1000): records deleted per statement\n"
                   "max_batches (100): statements per run\n",
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs
