// The handler threads of one queue worker: each takes the next claimed record, runs the job's handler
// on it with no transaction open, and passes what happened to on_done, on the handler's own thread,
// before it takes the next record. Handler threads never touch the queue's rows.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "queue/store.h"

namespace wo::queue {

// A handler processes one record. Returning normally completes it, even if its token was cancelled
// meanwhile (the work is done); throwing marks it errored (retried with backoff up to max_attempts);
// throwing PermanentError fails it at once. Handlers should check or wait on the token and throw
// (token.throw_if_cancelled()) when it is cancelled: a run that throws after a cancellation ends by the
// cancellation's reason (canceled, handed back at shutdown, or errored on timeout).
using Handler = std::function<void(const Record&, const wo::worker::CancelToken&)>;

struct PermanentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One claimed run of a record.
struct Work {
  Record record;
  wo::worker::CancelToken token;
  uint64_t run = 0;
};

// How one run ended, as the queue records it.
struct RunEnd {
  Outcome outcome = Outcome::completed;
  std::string message;
  bool lost = false;  // cancelled because the attempt is no longer ours: nothing to write
};

// What a run's end means for its record: a handler that returned normally did its work, so a
// cancellation that reached its token meanwhile (a request seen just as it returned, shutdown) never
// turns the success into canceled or a rerun; a failed run ends by its token's cancel reason; a lost
// attempt is never written. handler_timeout is for the message of a timed-out run.
RunEnd judge_run(Outcome returned, std::string message, wo::worker::CancelReason reason,
                 std::chrono::milliseconds handler_timeout);

class HandlerPool {
 public:
  using OnDone = std::function<void(Work& work, RunEnd end, double seconds)>;

  HandlerPool(int concurrency, Handler handler, std::chrono::milliseconds handler_timeout, OnDone on_done);
  // Closes and joins every handler thread: it waits for a handler that ignores its token for as long as
  // that handler runs (see close_and_join()).
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  void submit(std::vector<Work> work);
  // Work not started yet, taken back (at shutdown).
  std::deque<Work> take_unstarted();
  // No more work: threads end once idle. Waits (on a condition variable, not polling) until every
  // thread has ended or deadline, and returns whether they all ended. A handler still running then
  // ignores its token: its thread is not detached but stays the pool's, so the pool's destructor waits
  // for it, and only the end of the process (RoutineRunner::stop, app.cpp) ends it.
  bool close_and_join(std::chrono::steady_clock::time_point deadline);

 private:
  void loop();

  std::mutex mu_;
  // Work arrived or the pool closes: each record wakes one idle thread (notify_one), not all of them,
  // so that a claim of one record does not wake every idle handler thread to find nothing; work for
  // every idle thread wakes them all with one call.
  std::condition_variable work_cv_;
  int idle_ = 0;                      // threads waiting on work_cv_
  std::condition_variable ended_cv_;  // a thread ended (close_and_join() waits for the last one)
  std::deque<Work> work_;
  bool closing_ = false;
  int alive_ = 0;  // threads that have not left loop()
  Handler handler_;
  std::chrono::milliseconds handler_timeout_;
  OnDone on_done_;
  std::vector<std::jthread> threads_;  // last: joined before the state they use goes
};

}  // namespace wo::queue
