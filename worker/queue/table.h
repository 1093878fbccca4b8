// The name of a queue table and the names derived from it (quoted identifier, NOTIFY channel, indexes).
#pragma once

#include <string>
#include <string_view>

namespace wo::queue {

class QueueTable {
 public:
  // name must be a plain lower-case identifier (validated; throws wo::worker::ConfigError on "table").
  explicit QueueTable(const std::string& name);
  const std::string& name() const { return name_; }
  std::string quoted() const { return "\"" + name_ + "\""; }
  // The LISTEN/NOTIFY channel on which inserts into the table are announced.
  std::string channel() const { return "wo_queue_" + name_; }

 private:
  std::string name_;
};

// Record states, as stored in the state column.
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kProcessing = "processing";
inline constexpr const char* kCompleted = "completed";
inline constexpr const char* kErrored = "errored";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCanceled = "canceled";

// Waiting records (queued, or errored and to be retried): the partial dequeue index's predicate.
inline constexpr const char* kWaitingSql = "state IN ('queued','errored')";
// The records a claim would take now: waiting, due, and not being cancelled. The claim, the lag and
// `worker queue stats` all use this one condition, so "due" means the same everywhere.
inline constexpr const char* kDueSql =
    "state IN ('queued','errored') AND process_after <= now() AND NOT cancel_requested";
static_assert(std::string_view(kDueSql).starts_with(kWaitingSql), "a due record is a waiting one");

}  // namespace wo::queue
