// Cooperative cancellation of one running handler. The framework cancels a token when the record was
// cancelled by a producer, when this process no longer owns the record, at shutdown, or on timeout;
// handlers check it (or wait on it) and return early.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string_view>

namespace wo::worker {

enum class CancelReason { none, requested, lost, shutdown, timeout };

std::string_view to_string(CancelReason reason);

// Thrown by CancelToken::throw_if_cancelled(); the framework reads the token's reason, not this message.
struct Cancelled : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CancelToken {
 public:
  CancelToken();  // a fresh, uncancelled token; copies share the state

  bool cancelled() const;
  CancelReason reason() const;
  // Cancels with reason; the first reason sticks. Returns true if this call cancelled the token.
  bool cancel(CancelReason reason) const;
  // Sleeps up to d; returns true (early) once cancelled. Use instead of sleep_for in handlers.
  bool wait_for(std::chrono::milliseconds d) const;
  void throw_if_cancelled() const;
  // Requested once the token is cancelled: for code that takes a std::stop_token (wo::subprocess::run).
  std::stop_token stop_token() const;

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    CancelReason reason = CancelReason::none;
    std::stop_source stop;
  };
  std::shared_ptr<State> state_;
};

}  // namespace wo::worker
