// A rate-limited, de-duplicating work queue of string keys ("namespace/name"), with client-go's semantics:
// - fair: keys come out in the order they were first added;
// - de-duplicating: adding a key that is already waiting does nothing;
// - stingy: a key being processed is never handed out again until done(); adding it meanwhile marks it
//   dirty, and done() puts it back so it is processed once more afterwards;
// - delayed adds (add_after) and per-key backoff (add_rate_limited, forget);
// - shut_down(): no new keys, get() returns what is still queued and then nullopt;
//   shut_down_with_drain() additionally waits until every key handed out is done().
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "runtime/rate_limiters.h"
#include "wo/clock.h"
#include "wo/metrics.h"

namespace wo::runtime {

struct WorkQueueOptions {
  std::string name = "queue";                 // the `name` label of the workqueue_* metrics
  std::unique_ptr<RateLimiter> rate_limiter;  // null: default_controller_rate_limiter(*clock)
  metrics::Registry* metrics = nullptr;       // optional; must outlive the queue
  const Clock* clock = &steady_clock();       // delays and latencies are measured by it; must outlive the queue
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  // Adds after delay (at once when <= 0). A key already waiting keeps the earlier of the two times.
  void add_after(const std::string& key, Clock::duration delay);
  // Adds after the rate limiter's delay for key (a retry: counts a failure).
  void add_rate_limited(const std::string& key);
  // Resets key's failure count (after success).
  void forget(const std::string& key);
  int num_requeues(const std::string& key);

  // Blocks until a key is available; nullopt once shut down and empty.
  std::optional<std::string> get();
  void done(const std::string& key);

  void shut_down();
  void shut_down_with_drain();
  bool shutting_down() const;
  size_t len() const;         // keys waiting to be handed out (not delayed ones)
  size_t processing() const;  // keys handed out and not yet done

 private:
  void add_locked(const std::string& key);
  void shut_down_locked();
  void delay_loop();
  void update_depth_locked();

  void wake_delay_thread_locked();

  WorkQueueOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes get() and drain
  // The delay thread sleeps on the clock until the earliest delayed key is due; a new delayed key or
  // shut_down() requests a stop of this source to wake it sooner (each sleep gets a fresh one).
  std::stop_source wake_delay_thread_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_, processing_;
  std::map<std::string, Clock::time_point> added_at_;    // for queue latency
  std::map<std::string, Clock::time_point> started_at_;  // for work duration
  std::map<std::string, Clock::time_point> waiting_;     // delayed key -> ready time
  bool shutting_down_ = false;

  metrics::Gauge* depth_ = nullptr;
  metrics::Counter* adds_ = nullptr;
  metrics::Counter* retries_ = nullptr;
  metrics::Histogram* queue_duration_ = nullptr;
  metrics::Histogram* work_duration_ = nullptr;

  std::jthread delay_thread_;  // last: it starts once everything it uses exists, and is joined first
};

}  // namespace wo::runtime
