// The dispatcher of one queue worker: its own thread (the routine's) and connection claim as many due
// records as there are free handlers in one statement and hand them to the handler pool; it also
// migrates the table on first connect, samples the depth, enforces handler timeouts and liveness, and
// runs the shutdown: stop claiming, hand back what has not started, let running handlers finish until
// shortly before the deadline, then cancel them and hand back what is left (queued, no attempt spent).
// Outcomes go to the completer, heartbeats are the heartbeater's: a claim never waits behind either.
//
// It sleeps until a handler returns, outcomes are written, a NOTIFY arrives, stop is requested, or the
// next poll, sample, deadline or reconnect is due: every wait has a wake-up source or a deadline still ahead, so it
// never spins.
#pragma once

#include <chrono>
#include <exception>
#include <memory>

#include "core/routine.h"
#include "queue/completer.h"
#include "queue/handler_pool.h"
#include "queue/part_context.h"
#include "queue/wake_signal.h"

namespace wo::queue {

// Whether to claim now: there are free handlers and something to look for (a NOTIFY, a claim that
// filled every free handler, or the poll is due); and while other handlers still run, only once the
// first freed handler has waited kBatchDelay, so that one claim fills many handlers.
bool claim_due(int free, int running, bool want_claim, std::chrono::steady_clock::time_point free_since,
               std::chrono::steady_clock::time_point next_poll, std::chrono::steady_clock::time_point now);

// How many records to claim: one per free handler, but never so many that more than one handler's
// worth of outcomes (concurrency) waits for the completer. Handlers go on with new records while the
// last ones' outcomes are written, yet a completer that falls behind (a slow database) holds claims back
// rather than letting held attempts, and with them every claim's and write's cost, grow without bound.
int claimable(int concurrency, int running, int held);

class Dispatcher {
 public:
  Dispatcher(PartContext part, HandlerPool& pool, Completer& completer, WakeSignal& wake);

  // Runs until ctx's stop is requested and every held attempt is handed to the completer (or abandoned
  // at the deadline).
  void run(wo::worker::RoutineContext& ctx);

 private:
  using Clock = std::chrono::steady_clock;
  struct Loop;  // the loop's state between turns

  void release_unstarted();
  void on_db_error(Loop& loop, const std::exception& e);
  void ensure_connected(Loop& loop);
  void begin_stopping(Loop& loop, Clock::time_point deadline, Clock::time_point now);
  void sample_and_claim(Loop& loop, int free, int running, Clock::time_point now);
  Clock::time_point check_liveness(wo::worker::RoutineContext& ctx, Clock::time_point now);
  Clock::time_point next_wake(const Loop& loop, Clock::time_point now, Clock::time_point next_liveness_check) const;

  PartContext p_;
  HandlerPool& pool_;
  Completer& completer_;
  WakeSignal& wake_;
};

}  // namespace wo::queue
