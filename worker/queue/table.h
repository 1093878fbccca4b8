// The name of a queue table and the names derived from it (quoted identifier, NOTIFY channel, indexes).
#pragma once

#include <string>

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

}  // namespace wo::queue
