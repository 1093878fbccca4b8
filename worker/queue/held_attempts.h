// The attempts one queue worker holds: claimed and running, or run and waiting for their outcome to be
// written. Shared by the queue worker's parts (thread-safe): the dispatcher adds claims and enforces
// handler timeouts, handler threads report their return, the completer releases an attempt once its
// outcome is written (or dropped), and the heartbeater refreshes them all and cancels the lost ones.
//
// An attempt stays held until its outcome is written, so it keeps being heartbeated (never reset under
// a worker that merely waits to write) and is never claimed again by this process meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "queue/store.h"

namespace wo::queue {

class HeldAttempts {
 public:
  using Clock = std::chrono::steady_clock;

  // A claimed attempt whose handler is about to run; returns its run number (unique in this process),
  // which the handler's return must name.
  uint64_t add(int64_t id, const std::string& attempt_token, const wo::worker::CancelToken& token,
               Clock::time_point deadline);
  // The handler of run returned: its slot is free, the attempt waits for its outcome. False when that
  // run no longer holds the attempt (handed back at shutdown): its outcome must not be written.
  bool handler_returned(int64_t id, uint64_t run);
  // The outcome of this attempt was written or dropped: it is not held any more.
  void release(int64_t id, const std::string& attempt_token);
  // Handed back at shutdown while its handler still runs: not held, and its handler's return is ignored.
  // Returns the running attempts so handed back.
  std::vector<Attempt> abandon_running();

  int running() const;
  std::size_t size() const;
  std::vector<int64_t> ids() const;
  std::vector<Attempt> attempts() const;

  struct HeartbeatEffect {
    std::vector<int64_t> lost;  // held attempts the answer did not name: their handlers are cancelled (lost)
    bool any_locked = false;    // some were row-locked by another transaction: not refreshed
  };
  // Applies the answer to a heartbeat of sent: attempts missing from it are no longer this worker's
  // (their handlers are cancelled, reason lost); those with cancel_requested have their handlers cancelled
  // (requested).
  HeartbeatEffect apply_heartbeat(const std::vector<Attempt>& sent, const std::vector<Heartbeat>& answer);

  // Cancels (reason timeout) the running handlers whose deadline has passed, once each; returns their ids.
  std::vector<int64_t> cancel_overdue(Clock::time_point now);
  // The earliest deadline still ahead of a running handler (Clock::time_point::max() when none).
  Clock::time_point next_deadline() const;
  // Cancels every running handler with reason.
  void cancel_running(wo::worker::CancelReason reason);

  struct Ignoring {
    std::string reason;  // empty while every cancelled handler is within its grace
    Clock::time_point next_check = Clock::time_point::max();
  };
  // Handlers still running grace after their cancellation (not at shutdown): they hold their attempt and
  // their thread for ever, and only a restart frees them.
  Ignoring ignoring_cancellation(Clock::time_point now, std::chrono::milliseconds grace, const std::string& queue);

 private:
  struct Entry {
    std::string attempt_token;
    wo::worker::CancelToken token;
    uint64_t run = 0;
    Clock::time_point deadline;
    bool running = true;
    Clock::time_point cancelled_at = Clock::time_point::max();  // first seen cancelled (not at shutdown)
  };
  mutable std::mutex mu_;
  std::map<int64_t, Entry> entries_;
  uint64_t runs_ = 0;
};

}  // namespace wo::queue
