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
  ~HandlerPool();  // closes; joins the threads that are idle, leaves the others (see join_idle)
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  void submit(std::vector<Work> work);
  // Work not started yet, taken back (at shutdown).
  std::deque<Work> take_unstarted();
  // No more work: threads end once idle. Joins those that are idle by deadline; a handler that ignores
  // its token is left behind (its thread detached; it holds only the pool's shared state and on_done's
  // captures) so that the process can still exit on time.
  void close_and_join(std::chrono::steady_clock::time_point deadline);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Work> work;
    bool closing = false;
    int busy = 0;
    Handler handler;
    std::chrono::milliseconds handler_timeout;
    OnDone on_done;
  };
  static void loop(const std::shared_ptr<State>& s);

  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace wo::queue
