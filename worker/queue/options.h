// The settings of one queue worker and its maintenance routines, and how they are read from a job's
// configuration (the keys are documented in docs/jobs.md, "Queue settings").
#pragma once

#include <chrono>
#include <string>

#include "core/config.h"

namespace wo::queue {

using std::chrono::milliseconds;

struct QueueOptions {
  std::string table;
  int concurrency = 1;               // handlers running at once
  milliseconds poll_interval{1000};  // claim attempt when no NOTIFY arrives
  milliseconds heartbeat_interval{5000};
  bool notify = true;                // LISTEN for the table's NOTIFY (else polling only)
  int max_attempts = 5;              // failed handler runs before a record is failed
  milliseconds retry_backoff{1000};  // first retry delay, doubling per failure
  milliseconds retry_backoff_max{600000};
  milliseconds handler_timeout{0};  // 0: none
  // A handler still running this long after its cancellation (timeout, request, lost record) fails
  // liveness: it holds its record and its handler thread for ever, and only a restart frees them.
  milliseconds cancel_grace{30000};
  milliseconds depth_sample_interval{10000};
  // Resetter (runs in every replica; SKIP LOCKED makes that safe).
  bool resetter = true;
  // At least 3 heartbeat intervals, and longer than statement timeout + heartbeat_interval (see
  // validate_against_statement_timeout).
  milliseconds stalled_after{60000};
  int max_resets = 3;
  milliseconds resetter_interval{10000};
  // Janitor.
  bool janitor = true;
  milliseconds retention{7LL * 24 * 3600 * 1000};
  milliseconds janitor_interval{3600000};
  int janitor_batch = 1000;
  int janitor_max_batches = 100;
};

// Reads the queue keys from reader (leaving the job's own keys to the caller). Throws ConfigError.
QueueOptions read_queue_options(wo::worker::ConfigReader& reader);

// A heartbeat can wait behind one statement of the dispatcher for up to the statement timeout, then
// its interval: a stalled_after not longer than both would let the resetter take records from a live
// worker and run them twice. Throws ConfigError on "stalled_after", naming both values. A statement
// timeout of 0 (none) cannot be checked; a job without its own resetter (resetter: false) does not use
// its stalled_after.
void validate_against_statement_timeout(const QueueOptions& options, milliseconds statement_timeout);

// One line per key, for config_help.
extern const char* const kQueueOptionsHelp;

}  // namespace wo::queue
