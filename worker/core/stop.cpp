#include "core/stop.h"

namespace wo::worker {

void StopState::request(Clock::time_point deadline) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (requested_) return;
    requested_ = true;
    deadline_ = deadline;
    callbacks.swap(callbacks_);
  }
  cv_.notify_all();
  for (auto& f : callbacks) f();
}

bool StopState::requested() const {
  std::lock_guard lock(mu_);
  return requested_;
}

StopState::Clock::time_point StopState::deadline() const {
  std::lock_guard lock(mu_);
  return deadline_;
}

bool StopState::wait_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return requested_; });
}

void StopState::on_request(std::function<void()> f) const {
  {
    std::lock_guard lock(mu_);
    if (!requested_) {
      callbacks_.push_back(std::move(f));
      return;
    }
  }
  f();
}

}  // namespace wo::worker
