#include "core/cancel.h"

#include <string>

namespace wo::worker {

std::string_view to_string(CancelReason reason) {
  switch (reason) {
    case CancelReason::none:
      return "none";
    case CancelReason::requested:
      return "cancel requested";
    case CancelReason::lost:
      return "record no longer owned by this worker";
    case CancelReason::shutdown:
      return "worker shutting down";
    case CancelReason::timeout:
      return "handler timeout";
  }
  return "unknown";
}

CancelToken::CancelToken() : state_(std::make_shared<State>()) {}

bool CancelToken::cancel(CancelReason reason) const {
  if (reason == CancelReason::none) return false;
  // The reason is set before the stop is requested, so whoever sees the stop (cancelled(), a waiter on
  // stop_token(), a stop_callback) also sees the reason.
  CancelReason expected = CancelReason::none;
  if (!state_->reason.compare_exchange_strong(expected, reason)) return false;
  state_->stop.request_stop();
  return true;
}

bool CancelToken::wait_for(std::chrono::milliseconds d, const wo::Clock& clock) const {
  return !clock.sleep_for(stop_token(), d);
}

void CancelToken::throw_if_cancelled() const {
  if (cancelled()) throw Cancelled("handler cancelled: " + std::string(to_string(reason())));
}

}  // namespace wo::worker
