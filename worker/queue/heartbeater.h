// The heartbeater of one queue worker: its own thread and connection refresh every held attempt in one
// statement per heartbeat_interval (QueueStore::heartbeat), so that a heartbeat never waits behind a
// claim or a batch of outcomes. An attempt missing from the answer is no longer this worker's: its
// handler is cancelled (lost). One whose cancellation was requested has its handler cancelled
// (requested). A row-locked one is tried again within min(heartbeat_interval, 500 ms). A failed
// heartbeat (database down) cancels nothing (Sourcegraph PR #44685): it reconnects and carries on; if
// the outage outlasts stalled_after, the resetter requeues the records and their late outcomes are
// dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "queue/part_context.h"

namespace wo::queue {

class Heartbeater {
 public:
  explicit Heartbeater(PartContext part);
  ~Heartbeater();
  Heartbeater(const Heartbeater&) = delete;
  Heartbeater& operator=(const Heartbeater&) = delete;

  void start();
  void stop();

 private:
  void loop(const std::stop_token& stop);

  PartContext p_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;
};

}  // namespace wo::queue
