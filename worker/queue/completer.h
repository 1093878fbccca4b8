// The completer of one queue worker: its own thread and connection write the outcomes handler threads
// queue, many per statement (QueueStore::finish), so that a handler's slot is free as soon as its
// outcome is queued and a slow write never holds back claims or heartbeats.
//
// Batching: while handlers still run, the first queued outcome waits up to kBatchDelay for others, so
// that one statement carries many (commits are the ceiling of a queue). An outcome whose record another
// transaction holds row-locked is tried again within min(heartbeat_interval, 500 ms); its attempt stays
// held meanwhile (heartbeated, never claimed again). An outcome the database no longer takes belongs to
// an attempt that was reset: it is dropped and counted lost. While the database is down outcomes wait in
// memory and the completer reconnects with backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "queue/part_context.h"

namespace wo::queue {

// Bounds every lock wait of the queue worker's statements: rows are never waited for (claims,
// heartbeats and outcomes skip locked rows), so this bounds what is left, e.g. a table lock of a
// migration, so that no part stalls for a whole statement timeout.
inline constexpr std::chrono::milliseconds kQueueLockTimeout{5000};
// How long the first queued outcome may wait for others while handlers still run.
inline constexpr std::chrono::milliseconds kBatchDelay{2};
// How soon a heartbeat or an outcome skipped for a row lock is tried again (at most heartbeat_interval).
inline constexpr std::chrono::milliseconds kLockedRetry{500};

// Whether the queued outcomes are to be written now: there are some, and no handler is still running
// (nothing more will come soon), or the oldest has waited kBatchDelay, or the worker is stopping.
bool flush_due(std::size_t queued, int running, std::chrono::steady_clock::time_point oldest,
               std::chrono::steady_clock::time_point now, bool stopping);

class Completer {
 public:
  using Clock = std::chrono::steady_clock;

  // on_written: called (on the completer's thread) after each batch, once its attempts are released.
  Completer(PartContext part, std::function<void()> on_written);
  ~Completer();
  Completer(const Completer&) = delete;
  Completer& operator=(const Completer&) = delete;

  void start();
  // Queues an outcome (any thread).
  void push(Finish finish);
  // Writes everything queued, and what is queued meanwhile, until deadline (retrying row-locked ones and
  // reconnecting), then stops the thread. Returns how many outcomes were left unwritten.
  std::size_t drain_and_stop(Clock::time_point deadline);

 private:
  void loop(const std::stop_token& stop);
  void write(std::unique_ptr<pqxx::connection>& conn, std::vector<Finish>& batch);

  PartContext p_;
  std::function<void()> on_written_;
  const std::chrono::milliseconds locked_retry_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Finish> queued_;
  Clock::time_point oldest_ = Clock::time_point::max();
  std::vector<Finish> locked_;
  Clock::time_point retry_locked_ = Clock::time_point::max();
  bool changed_ = false;  // pushed or draining since the loop last looked
  bool draining_ = false;
  Clock::time_point drain_deadline_ = Clock::time_point::max();
  std::size_t left_ = 0;  // outcomes left unwritten when draining ended
  std::jthread thread_;
};

}  // namespace wo::queue
