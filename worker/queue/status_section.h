// A queue job's section of the worker's status page (core/status_page.h): the job and its table, records
// by state, the lag, records finished per minute as an inline SVG chart, and the last failures. The
// numbers are those of `worker queue stats` (queue_stats, list_records): one way to count each thing.
#pragma once

#include <string>
#include <vector>

#include "core/database.h"
#include "core/registry.h"
#include "queue/admin.h"

namespace wo::queue {

// How many failed records the section lists, newest first, and how much of each message it shows.
inline constexpr int kStatusFailures = 10;
inline constexpr std::size_t kStatusMessageBytes = 300;

struct QueueStatus {
  std::string job;
  std::string table;
  QueueStats stats;
  std::vector<RecordSummary> failures;  // list_records(failed, kStatusFailures)
};

// The section's HTML: every value escaped, every number marked for tests and scripts (data-state,
// data-lag-seconds, data-due-now, data-minute, data-failure-id). Pure.
std::string render_queue_status(const QueueStatus& status);

// Reads the section's data on a connection of its own that can only read (default_transaction_read_only)
// and gives up quickly (a statement timeout of at most 5 s). Throws pqxx exceptions.
QueueStatus read_queue_status(const wo::worker::DatabaseOptions& database, const std::string& job,
                              const QueueTable& table);

// Adds the table's section to ctx.status_page (when there is one).
void add_queue_status_section(const wo::worker::JobContext& ctx, const QueueTable& table);

}  // namespace wo::queue
