// The SQL of the queue protocol, one statement per operation, each guarded so that a worker can only
// change the attempts it still owns (id + attempt_token + worker_id + state = 'processing').
//
// All methods run autocommit statements on the given connection and throw pqxx exceptions; the caller
// owns reconnecting. None of them opens a transaction that outlives the call. claim, finish and
// heartbeat are prepared statements of the connection (wo_claim_<table>, ...), and set its
// plan_cache_mode to force_custom_plan, so that each is planned for its arguments and the table as it is.
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "queue/table.h"

namespace wo::queue {

struct Record {
  int64_t id = 0;
  // A fresh UUID per claim: this attempt's identity. Heartbeats and outcomes match it, so an attempt
  // whose claim was reset (and maybe claimed again, even by this process) can never refresh or finish
  // the attempt that replaced it. Handlers may key their side effects by it.
  std::string attempt_token;
  std::string payload;  // the jsonb payload as JSON text
  int priority = 0;
  int num_failures = 0;  // failed attempts before this one
  int num_resets = 0;
  double wait_seconds = 0;  // from due (queued_at or process_after) to claim: the enqueue-to-start latency
};

// How a handler run ended, as applied by QueueStore::finish().
enum class Outcome {
  completed,  // done
  errored,    // failed; retried after delay unless max attempts reached (then failed)
  failed,     // failed permanently: no retry
  canceled,   // the handler stopped because cancellation was requested
  released,   // handed back unfinished (shutdown): queued again, no attempt spent
};

// failure_message is for humans: finish() keeps it this long at most.
constexpr std::size_t kMaxFailureMessageBytes = 8192;

// One claimed attempt of a record, as heartbeats and outcomes name it.
struct Attempt {
  int64_t id = 0;
  std::string attempt_token;
};

struct Finish {
  int64_t id = 0;
  std::string attempt_token;  // the attempt this outcome ends; another attempt of the record is left alone
  Outcome outcome = Outcome::completed;
  std::string message;                 // failure_message for errored/failed/canceled (any bytes: cleaned)
  std::chrono::milliseconds delay{0};  // retry delay for errored
};

struct FinishResult {
  int64_t id;
  std::string state;    // the new state; empty when locked
  bool locked = false;  // still ours but row-locked by another transaction: not written, try again later
};

struct Heartbeat {
  int64_t id;
  bool cancel_requested;
  bool locked = false;  // still ours but row-locked by another transaction: not refreshed, try again soon
};

struct ResetResult {
  int64_t requeued = 0;
  int64_t failed = 0;
  int64_t canceled = 0;  // cancellations finished: stalled, or waiting where no claim will take them
};

class QueueStore {
 public:
  QueueStore(QueueTable table, std::string worker_id, const std::string& hostname);

  const QueueTable& table() const { return table_; }
  const std::string& worker_id() const { return worker_id_; }

  // Claims up to limit due records (highest priority, then oldest due) in one statement, skipping held:
  // the records this process still runs. The resetter may have taken one back from a handler that is
  // slow but alive; claiming it again would run it twice at once in this process.
  std::vector<Record> claim(pqxx::connection& conn, int limit, const std::vector<int64_t>& held = {}) const;
  // Applies many outcomes in one statement; returns the records actually changed (the attempt still
  // owned), and those still owned but row-locked by another transaction (locked: nothing written; never
  // waited for). An outcome missing from the answer was not written: its attempt is no longer this one's.
  // max_attempts: an errored record whose num_failures reaches it becomes failed. Messages are made valid
  // UTF-8 and bounded (kMaxFailureMessageBytes). When Postgres refuses the batch for a reason in its data
  // (SQLSTATE class 22 or 23, e.g. a table's own CHECK constraint), the batch is split until the refused
  // record is alone; that one is written with a message saying why its own was refused, or, if even that
  // is refused, left to the resetter (logged). Other errors (connection lost, timeout) are thrown.
  std::vector<FinishResult> finish(pqxx::connection& conn, const std::vector<Finish>& finishes, int max_attempts) const;
  // Refreshes last_heartbeat_at of the given attempts; returns those still owned with their cancel flag.
  // A record row-locked by another transaction is not waited for: it is returned locked, unrefreshed.
  std::vector<Heartbeat> heartbeat(pqxx::connection& conn, const std::vector<Attempt>& attempts) const;

  // Maintenance, safe to run from every replica at once (SKIP LOCKED).
  // Records processing whose heartbeat is older than stalled_after go back to queued (num_resets + 1), or
  // to failed once num_resets would exceed max_resets, or to canceled when their cancellation was
  // requested. Waiting (queued, errored) records with cancel_requested become canceled. At most limit
  // records of each kind per call.
  static ResetResult reset_stalled(pqxx::connection& conn, const QueueTable& table,
                                   std::chrono::milliseconds stalled_after, int max_resets, int limit);
  // Deletes up to limit finished (completed, failed, canceled) records finished before retention ago.
  static int64_t delete_finished(pqxx::connection& conn, const QueueTable& table, std::chrono::milliseconds retention,
                                 int limit);
  // The queue's lag: how long the oldest record that is due now (waiting, process_after passed, no
  // cancellation requested) has been due, in seconds; 0 when none is. One index probe per distinct
  // priority of the backlog (a loose scan of the dequeue index), whatever the backlog's size.
  static double lag_seconds(pqxx::connection& conn, const QueueTable& table);

 private:
  void finish_isolating(pqxx::connection& conn, std::span<const Finish> batch, int max_attempts,
                        std::vector<FinishResult>& out) const;
  void finish_batch(pqxx::connection& conn, std::span<const Finish> batch, int max_attempts,
                    std::vector<FinishResult>& out) const;

  QueueTable table_;
  std::string worker_id_, hostname_;
  std::string claim_sql_, finish_sql_, heartbeat_sql_;
};

std::string_view to_string(Outcome outcome);

// Postgres array literals for bigint[] and text[] parameters (libpqxx 6.4 has no array parameters).
std::string to_pg_array(const std::vector<int64_t>& values);
std::string to_pg_array(const std::vector<std::string>& values);

}  // namespace wo::queue
