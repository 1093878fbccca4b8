// Process-level plumbing shared by both binaries: shutdown signals and the termination message.
#pragma once

#include <chrono>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

namespace wo::process {

// Turns SIGTERM and SIGINT into a stop request: token() is stopped when either arrives (or request()
// is called), so whatever takes a std::stop_token stops on a signal without polling for it. Construct
// it first thing in main, before any thread starts: it blocks both signals in the calling thread
// (threads inherit the mask) and waits for them on a thread of its own. Also ignores SIGPIPE (writes to
// closed sockets return EPIPE).
class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  bool requested() const { return source_.stop_requested(); }
  // Blocks until shutdown is requested or the timeout passes; returns requested().
  bool wait_for(std::chrono::milliseconds timeout) const;
  void wait() const;
  // Requests shutdown from inside the process (e.g. a fatal error in a routine). The first reason stays.
  void request(std::string reason);
  // Why shutdown was requested ("SIGTERM", "SIGINT" or request()'s reason); set before token() stops.
  std::string reason() const;

 private:
  std::stop_source source_;
  mutable std::mutex mu_;
  std::string reason_;
  bool reason_set_ = false;
  int wake_fd_ = -1;
  std::jthread waiter_;  // last: it starts once everything it uses exists, and is joined first
};

// Kubernetes reads /dev/termination-log into the container's lastState.terminated.message.
inline constexpr std::string_view kTerminationLogPath = "/dev/termination-log";

// Writes message to the termination log when that file exists (and is writable); never throws.
// Returns true when written. path is for tests.
bool write_termination_message(std::string_view message, std::string_view path = kTerminationLogPath);

}  // namespace wo::process
