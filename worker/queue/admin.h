// Operations on a queue table's records for the people who run it (the `worker queue` command): counts,
// listing, one record in full, retrying failed records, cancelling (queue::request_cancel) and purging
// finished ones. Knows nothing of any particular job.
//
// Safe while workers run: retry and purge only ever change finished records (failed, canceled, and for
// purge completed), re-check the state after taking the row lock, and skip rows another transaction holds
// (FOR UPDATE SKIP LOCKED, as the janitor and the resetter do), so a claimed or processing record is
// never touched and a worker is never blocked. All functions run autocommit statements; they throw pqxx
// exceptions.
#pragma once

#include <pqxx/pqxx>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "queue/table.h"

namespace wo::queue {

// Every state a record can be in, in the order a record lives through them.
inline constexpr std::array<const char*, 6> kStates = {kQueued, kProcessing, kErrored, kCompleted, kFailed, kCanceled};
bool is_state(const std::string& state);

// True when the table exists (in the connection's search_path).
bool table_exists(pqxx::connection& conn, const QueueTable& table);

struct Throughput {
  int64_t completed = 0;
  int64_t failed = 0;
};

// How many records are counted at most per group of states (see state_counts).
inline constexpr int64_t kStateCountCap = 100000;

// Records by state, with a bounded cost. The states fall in three groups, each read through its own
// partial index (table.h's schema): waiting (queued, errored), processing, finished (completed, failed,
// canceled). A group is read up to cap + 1 records, so one sample reads at most 3 * (cap + 1) index
// entries and rows whatever the table holds: a table with millions of finished records costs the same as
// one with cap. When a group holds at most cap records its counts are exact; beyond, its states are marked
// capped and their counts are those among the cap + 1 records read (for finished states: the newest, by
// finished_at), a lower bound. Exact counts of a huge table would be a sequential scan on every sample.
struct StateCounts {
  std::array<int64_t, kStates.size()> count{};  // in kStates' order
  std::array<bool, kStates.size()> capped{};    // true: count is a lower bound (its group exceeds the cap)
};
StateCounts state_counts(pqxx::connection& conn, const QueueTable& table, int64_t cap = kStateCountCap);

// Completed and failed records per minute of the last kThroughputMinutes, by finished_at (the whole table,
// every worker): per_minute[0] is the last 60 seconds, per_minute[i] the records that finished i to i + 1
// minutes ago. Read through the finished index's range of the last minutes: its cost grows with the
// throughput of those minutes, never with the table's history.
inline constexpr int kThroughputMinutes = 15;
std::array<Throughput, kThroughputMinutes> finished_per_minute(pqxx::connection& conn, const QueueTable& table);

struct QueueStats {
  StateCounts states;                                       // state_counts with kStateCountCap
  int64_t due_now = 0;                                      // waiting, process_after passed, no cancellation requested
  double lag_seconds = 0;                                   // QueueStore::lag_seconds
  std::optional<int64_t> oldest_due_id;                     // the record due the longest
  std::array<Throughput, kThroughputMinutes> per_minute{};  // finished_per_minute
  // Records finished in the last 1, 5 and 15 minutes: sums of per_minute.
  std::array<std::pair<int, Throughput>, 3> finished{{{1, {}}, {5, {}}, {15, {}}}};
};

// The numbers `worker queue stats` prints and the status page shows: state_counts, the due records
// (through the dequeue index), the lag and finished_per_minute. Several statements, none of them a scan of
// the finished records' history.
QueueStats queue_stats(pqxx::connection& conn, const QueueTable& table);

// One record as the listing shows it; timestamps are UTC, to the second ("" for NULL).
struct RecordSummary {
  int64_t id = 0;
  std::string state;
  int priority = 0, num_failures = 0, num_resets = 0;
  std::string queued_at, process_after, finished_at;
  std::optional<std::string> failure_message;
  std::string json;  // the same columns as one JSON object (full timestamps), from Postgres itself
};

// The newest records first (by id), of one state or (empty) of every state, at most limit.
std::vector<RecordSummary> list_records(pqxx::connection& conn, const QueueTable& table, const std::string& state,
                                        int limit);

// Every column of one record, in the table's order, as text (nullopt for NULL), and the whole row as a
// JSON object (payload as JSON, not as a string). The table's own extra columns are included.
struct RecordDetail {
  std::vector<std::pair<std::string, std::optional<std::string>>> columns;
  std::string json;
};
std::optional<RecordDetail> show_record(pqxx::connection& conn, const QueueTable& table, int64_t id);

// Which records retry and purge act on. Only finished records ever match (see each function).
struct RecordFilter {
  std::optional<int64_t> id;
  std::optional<std::string> state;
  // Finished at least this long ago.
  std::optional<std::chrono::milliseconds> older_than;
};

// Puts failed or canceled records matching filter back in the queue, due now: state queued,
// process_after now(), num_failures and num_resets 0 (a retried record gets the job's whole max_attempts
// again, as if just enqueued), cancel_requested false, worker, attempt and start/finish times cleared.
// failure_message is kept (why it failed last) until an attempt overwrites it; payload, priority and
// queued_at are kept. A record in any other state is never changed, whatever filter.state says. Returns
// the ids changed, ascending.
std::vector<int64_t> retry_records(pqxx::connection& conn, const QueueTable& table, const RecordFilter& filter);

// Deletes finished (completed, failed, canceled) records matching filter, in batches of batch_size
// (each its own statement, so no lock is held long), until none is left. Waiting and processing records
// are never deleted, whatever filter.state says. Returns the ids deleted, ascending.
std::vector<int64_t> purge_records(pqxx::connection& conn, const QueueTable& table, const RecordFilter& filter,
                                   int batch_size = 1000);

}  // namespace wo::queue
