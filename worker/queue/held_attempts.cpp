#include "queue/held_attempts.h"

#include <set>

#include "wo/cli.h"

namespace wo::queue {

using wo::worker::CancelReason;

uint64_t HeldAttempts::add(int64_t id, const std::string& attempt_token, const wo::worker::CancelToken& token,
                           Clock::time_point deadline) {
  std::lock_guard lock(mu_);
  const uint64_t run = ++runs_;
  entries_[id] = Entry{attempt_token, token, run, deadline};
  return run;
}

bool HeldAttempts::handler_returned(int64_t id, uint64_t run) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.run != run || !it->second.running) return false;
  it->second.running = false;
  it->second.deadline = Clock::time_point::max();
  return true;
}

void HeldAttempts::release(int64_t id, const std::string& attempt_token) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.attempt_token == attempt_token) entries_.erase(it);
}

std::vector<Attempt> HeldAttempts::abandon_running() {
  std::lock_guard lock(mu_);
  std::vector<Attempt> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.running) {
      out.push_back({it->first, it->second.attempt_token});
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

int HeldAttempts::running() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [id, e] : entries_) n += e.running ? 1 : 0;
  return n;
}

std::size_t HeldAttempts::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::vector<int64_t> HeldAttempts::ids() const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

std::vector<Attempt> HeldAttempts::attempts() const {
  std::lock_guard lock(mu_);
  std::vector<Attempt> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back({id, e.attempt_token});
  return out;
}

HeldAttempts::HeartbeatEffect HeldAttempts::apply_heartbeat(const std::vector<Attempt>& sent,
                                                            const std::vector<Heartbeat>& answer) {
  std::map<int64_t, const Heartbeat*> owned;
  for (const auto& hb : answer) owned.emplace(hb.id, &hb);
  HeartbeatEffect effect;
  std::lock_guard lock(mu_);
  for (const auto& a : sent) {
    auto it = entries_.find(a.id);
    // Released or replaced since the heartbeat was sent: the answer says nothing about what is held now.
    if (it == entries_.end() || it->second.attempt_token != a.attempt_token) continue;
    auto hb = owned.find(a.id);
    if (hb == owned.end()) {
      if (it->second.token.cancel(CancelReason::lost)) effect.lost.push_back(a.id);
      continue;
    }
    effect.any_locked = effect.any_locked || hb->second->locked;
    if (hb->second->cancel_requested) it->second.token.cancel(CancelReason::requested);
  }
  return effect;
}

std::vector<int64_t> HeldAttempts::cancel_overdue(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  for (auto& [id, e] : entries_) {
    if (!e.running || now < e.deadline) continue;
    // A run's deadline is spent once it has been cancelled: it must not keep waking the dispatcher while
    // its handler has not returned (it may never).
    e.deadline = Clock::time_point::max();
    if (e.token.cancel(CancelReason::timeout)) out.push_back(id);
  }
  return out;
}

HeldAttempts::Clock::time_point HeldAttempts::next_deadline() const {
  std::lock_guard lock(mu_);
  auto next = Clock::time_point::max();
  for (const auto& [id, e] : entries_) {
    if (e.running) next = std::min(next, e.deadline);
  }
  return next;
}

void HeldAttempts::cancel_running(CancelReason reason) {
  std::lock_guard lock(mu_);
  for (auto& [id, e] : entries_) {
    if (e.running) e.token.cancel(reason);
  }
}

HeldAttempts::Ignoring HeldAttempts::ignoring_cancellation(Clock::time_point now, std::chrono::milliseconds grace,
                                                           const std::string& queue) {
  std::lock_guard lock(mu_);
  Ignoring out;
  int ignoring = 0;
  for (auto& [id, e] : entries_) {
    if (!e.running) continue;
    if (e.cancelled_at == Clock::time_point::max()) {
      if (!e.token.cancelled() || e.token.reason() == CancelReason::shutdown) continue;
      e.cancelled_at = now;
    }
    if (now < e.cancelled_at + grace) {
      out.next_check = std::min(out.next_check, e.cancelled_at + grace);
    } else if (ignoring++ == 0) {
      out.reason = "the handler of record " + std::to_string(id) + " of queue " + queue +
                   " ignored its cancellation (" + std::string(wo::worker::to_string(e.token.reason())) +
                   ") for more than " + wo::cli::format_duration(grace);
    }
  }
  if (ignoring > 1) out.reason += " (and " + std::to_string(ignoring - 1) + " more handlers)";
  return out;
}

}  // namespace wo::queue
