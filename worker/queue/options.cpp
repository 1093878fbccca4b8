#include "queue/options.h"

#include "wo/cli.h"

namespace wo::queue {

const char* const kQueueOptionsHelp =
    "table (required): queue table, created and migrated by the worker ([a-z_][a-z0-9_]*)\n"
    "concurrency (1): handlers running at once (connections used: 4 + resetter + janitor)\n"
    "poll_interval (1s): how often to look for work when no NOTIFY arrives\n"
    "notify (true): LISTEN for the table's insert notifications (false: polling only)\n"
    "heartbeat_interval (5s): how often the worker proves it still owns its records\n"
    "max_attempts (5): failed runs before a record is failed for good\n"
    "retry_backoff (1s), retry_backoff_max (10m): first retry delay, doubled per failure, with jitter\n"
    "handler_timeout (0 = none): a run that takes longer is cancelled and counts as a failure\n"
    "cancel_grace (30s): a handler still running this long after its cancellation (timeout, request,\n"
    "  lost record) makes /healthz fail, so that the pod is restarted\n"
    "resetter (true), stalled_after (1m), max_resets (3), resetter_interval (10s): requeue records\n"
    "  whose worker stopped heartbeating; after max_resets resets, fail them; stalled_after must exceed\n"
    "  --statement-timeout + heartbeat_interval\n"
    "janitor (true), retention (168h), janitor_interval (1h), janitor_batch (1000), janitor_max_batches (100):\n"
    "  delete finished records older than retention\n"
    "depth_sample_interval (10s): how often the queue depth gauge is sampled\n";

QueueOptions read_queue_options(wo::worker::ConfigReader& r) {
  using wo::worker::ConfigError;
  QueueOptions o;
  o.table = wo::worker::validate_identifier(r.field("table"), r.required_string("table"));
  o.concurrency = static_cast<int>(r.integer("concurrency", o.concurrency, 1, 1000));
  o.poll_interval = r.duration("poll_interval", o.poll_interval, milliseconds(10));
  o.notify = r.boolean("notify", o.notify);
  o.heartbeat_interval = r.duration("heartbeat_interval", o.heartbeat_interval, milliseconds(10));
  o.max_attempts = static_cast<int>(r.integer("max_attempts", o.max_attempts, 1, 1000000));
  o.retry_backoff = r.duration("retry_backoff", o.retry_backoff);
  o.retry_backoff_max = r.duration("retry_backoff_max", o.retry_backoff_max);
  o.handler_timeout = r.duration("handler_timeout", o.handler_timeout);
  o.cancel_grace = r.duration("cancel_grace", o.cancel_grace, milliseconds(100));
  o.depth_sample_interval = r.duration("depth_sample_interval", o.depth_sample_interval, milliseconds(100));
  o.resetter = r.boolean("resetter", o.resetter);
  o.stalled_after = r.duration("stalled_after", o.stalled_after, milliseconds(100));
  o.max_resets = static_cast<int>(r.integer("max_resets", o.max_resets, 0, 1000000));
  o.resetter_interval = r.duration("resetter_interval", o.resetter_interval, milliseconds(10));
  o.janitor = r.boolean("janitor", o.janitor);
  o.retention = r.duration("retention", o.retention);
  o.janitor_interval = r.duration("janitor_interval", o.janitor_interval, milliseconds(10));
  o.janitor_batch = static_cast<int>(r.integer("janitor_batch", o.janitor_batch, 1, 1000000));
  o.janitor_max_batches = static_cast<int>(r.integer("janitor_max_batches", o.janitor_max_batches, 1, 1000000));
  // Heartbeat jitter must not look like a stall (Sourcegraph PR #23234): insist on a safety margin.
  if (o.stalled_after < 3 * o.heartbeat_interval) {
    throw ConfigError(r.field("stalled_after"), "must be at least 3 x heartbeat_interval (" +
                                                    wo::cli::format_duration(3 * o.heartbeat_interval) + "), got " +
                                                    wo::cli::format_duration(o.stalled_after));
  }
  if (o.retry_backoff_max < o.retry_backoff) {
    throw ConfigError(r.field("retry_backoff_max"), "must not be shorter than retry_backoff");
  }
  return o;
}

void validate_against_statement_timeout(const QueueOptions& o, milliseconds statement_timeout) {
  if (!o.resetter || statement_timeout.count() <= 0) return;
  if (o.stalled_after <= statement_timeout + o.heartbeat_interval) {
    throw wo::worker::ConfigError(
        "stalled_after", "must be longer than the statement timeout (" + wo::cli::format_duration(statement_timeout) +
                             ") + heartbeat_interval (" + wo::cli::format_duration(o.heartbeat_interval) +
                             "), since a heartbeat may wait that long behind another statement; got " +
                             wo::cli::format_duration(o.stalled_after));
  }
}

}  // namespace wo::queue
