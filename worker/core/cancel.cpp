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

bool CancelToken::cancelled() const {
  return reason() != CancelReason::none;
}

CancelReason CancelToken::reason() const {
  std::lock_guard lock(state_->mu);
  return state_->reason;
}

bool CancelToken::cancel(CancelReason reason) const {
  {
    std::lock_guard lock(state_->mu);
    if (state_->reason != CancelReason::none || reason == CancelReason::none) return false;
    state_->reason = reason;
  }
  state_->cv.notify_all();
  state_->stop.request_stop();  // outside the lock: it runs the stop callbacks
  return true;
}

std::stop_token CancelToken::stop_token() const {
  return state_->stop.get_token();
}

bool CancelToken::wait_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(state_->mu);
  return state_->cv.wait_for(lock, d, [this] { return state_->reason != CancelReason::none; });
}

void CancelToken::throw_if_cancelled() const {
  CancelReason r = reason();
  if (r != CancelReason::none) throw Cancelled("handler cancelled: " + std::string(to_string(r)));
}

}  // namespace wo::worker
