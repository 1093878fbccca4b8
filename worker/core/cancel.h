// Cooperative cancellation of one running handler. The framework cancels a token when the record was
// cancelled by a producer, when this process no longer owns the record, at shutdown, or on timeout;
// handlers check it (or wait on it) and return early.
//
// A CancelToken is a std::stop_source with the reason riding along: cancelling it requests a stop, so
// a handler may just as well hand stop_token() to anything that takes a std::stop_token (a
// std::condition_variable_any wait, wo::Clock::sleep_for, wo::subprocess::run, a std::stop_callback).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string_view>

#include "wo/clock.h"

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

  // True once cancel() has requested the stop; reason() is then never none.
  bool cancelled() const { return state_->stop.stop_requested(); }
  CancelReason reason() const { return state_->reason.load(); }
  // Cancels with reason; the first reason sticks. Returns true if this call cancelled the token.
  bool cancel(CancelReason reason) const;
  // Sleeps up to d on clock; returns true (early) once cancelled. Use instead of sleep_for in handlers.
  bool wait_for(std::chrono::milliseconds d, const wo::Clock& clock = wo::steady_clock()) const;
  void throw_if_cancelled() const;
  // Stop is requested once the token is cancelled.
  std::stop_token stop_token() const { return state_->stop.get_token(); }

 private:
  struct State {
    std::atomic<CancelReason> reason{CancelReason::none};
    std::stop_source stop;
  };
  std::shared_ptr<State> state_;
};

}  // namespace wo::worker
