// Process-level plumbing shared by both binaries: shutdown signals and the termination message.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace wo::process {

// Turns SIGTERM and SIGINT into a flag that threads can wait on. Construct it first thing in main,
// before any thread starts: it blocks both signals in the calling thread (threads inherit the mask)
// and waits for them on a thread of its own. Also ignores SIGPIPE (writes to closed sockets return EPIPE).
class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  bool requested() const;
  // Blocks until shutdown is requested or the timeout passes; returns requested().
  bool wait_for(std::chrono::milliseconds timeout) const;
  void wait() const;
  // Requests shutdown from inside the process (e.g. a fatal error in a routine).
  void request(std::string reason);
  std::string reason() const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool requested_ = false;
  std::string reason_;
  std::thread waiter_;
  int wake_fd_ = -1;
};

// Kubernetes reads /dev/termination-log into the container's lastState.terminated.message.
inline constexpr std::string_view kTerminationLogPath = "/dev/termination-log";

// Writes message to the termination log when that file exists (and is writable); never throws.
// Returns true when written. path is for tests.
bool write_termination_message(std::string_view message, std::string_view path = kTerminationLogPath);

}  // namespace wo::process
