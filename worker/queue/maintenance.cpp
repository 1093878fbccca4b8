#include "queue/maintenance.h"

#include "queue/schema.h"
#include "queue/store.h"
#include "wo/log.h"

namespace wo::queue {
namespace {

// Wraps a maintenance body so that it migrates the table once (per routine) before its first run.
std::function<void(pqxx::connection*)> with_schema(const QueueTable& table, bool ensure_schema,
                                                   std::function<void(pqxx::connection*)> body) {
  if (!ensure_schema) return body;
  auto migrated = std::make_shared<bool>(false);
  return [table, migrated, body = std::move(body)](pqxx::connection* conn) {
    if (!*migrated) {
      migrate(*conn, table);
      *migrated = true;
    }
    body(conn);
  };
}

}  // namespace

std::unique_ptr<wo::worker::PeriodicRoutine> make_resetter(const QueueOptions& options,
                                                           const wo::worker::DatabaseOptions& database,
                                                           metrics::Registry& registry, bool ensure_schema) {
  wo::worker::PeriodicOptions p;
  p.name = "resetter:" + options.table;
  p.interval = options.resetter_interval;
  p.database = database;
  QueueTable table(options.table);
  auto& reset = registry.counter("worker_queue_reset_total", "Stalled records requeued by the resetter", {"queue"})
                    .with({options.table});
  auto& failed =
      registry.counter("worker_queue_failed_total", "Records failed for good (max attempts or max resets)", {"queue"})
          .with({options.table});
  auto& canceled =
      registry.counter("worker_queue_canceled_total", "Records canceled on request", {"queue"}).with({options.table});
  return std::make_unique<wo::worker::PeriodicRoutine>(
      p,
      with_schema(table, ensure_schema,
                  [table, options, &reset, &failed, &canceled](pqxx::connection* conn) {
                    for (;;) {
                      constexpr int kBatch = 1000;
                      ResetResult r =
                          QueueStore::reset_stalled(*conn, table, options.stalled_after, options.max_resets, kBatch);
                      reset.inc(static_cast<double>(r.requeued));
                      failed.inc(static_cast<double>(r.failed));
                      canceled.inc(static_cast<double>(r.canceled));
                      if (r.requeued + r.failed + r.canceled > 0) {
                        wo::log::warn("resetter: records whose worker stopped heartbeating, or canceled waiting",
                                      {{"queue", table.name()},
                                       {"requeued", r.requeued},
                                       {"failed", r.failed},
                                       {"canceled", r.canceled}});
                      }
                      if (r.requeued + r.failed + r.canceled < kBatch) break;
                    }
                  }),
      registry);
}

std::unique_ptr<wo::worker::PeriodicRoutine> make_janitor(const QueueOptions& options,
                                                          const wo::worker::DatabaseOptions& database,
                                                          metrics::Registry& registry, bool ensure_schema) {
  wo::worker::PeriodicOptions p;
  p.name = "janitor:" + options.table;
  p.interval = options.janitor_interval;
  p.database = database;
  QueueTable table(options.table);
  auto& deleted = registry.counter("worker_queue_deleted_total", "Finished records deleted by the janitor", {"queue"})
                      .with({options.table});
  return std::make_unique<wo::worker::PeriodicRoutine>(
      p,
      with_schema(table, ensure_schema,
                  [table, options, &deleted](pqxx::connection* conn) {
                    // Bounded batches keep each statement short; the cap bounds one run.
                    for (int i = 0; i < options.janitor_max_batches; ++i) {
                      int64_t n = QueueStore::delete_finished(*conn, table, options.retention, options.janitor_batch);
                      deleted.inc(static_cast<double>(n));
                      if (n < options.janitor_batch) break;
                    }
                  }),
      registry);
}

}  // namespace wo::queue
