#include "queue/completer.h"

#include <set>

#include "core/backoff.h"
#include "wo/log.h"

namespace wo::queue {

bool flush_due(std::size_t queued, int running, std::chrono::steady_clock::time_point oldest,
               std::chrono::steady_clock::time_point now, bool stopping) {
  return queued > 0 && (stopping || running == 0 || now >= oldest + kBatchDelay);
}

Completer::Completer(PartContext part, std::function<void()> on_written)
    : p_(std::move(part)),
      on_written_(std::move(on_written)),
      locked_retry_(std::min<std::chrono::milliseconds>(p_.options.heartbeat_interval, kLockedRetry)) {
  p_.database.lock_timeout = kQueueLockTimeout;
}

Completer::~Completer() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void Completer::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { loop(stop); });
}

void Completer::push(Finish finish) {
  {
    std::lock_guard lock(mu_);
    if (queued_.empty()) oldest_ = Clock::now();
    queued_.push_back(std::move(finish));
    changed_ = true;
  }
  cv_.notify_all();
}

std::size_t Completer::drain_and_stop(Clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    drain_deadline_ = deadline;
    changed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return left_;
}

void Completer::loop(const std::stop_token& stop) {
  std::unique_ptr<pqxx::connection> conn;
  wo::worker::ReconnectBackoff backoff;
  auto retry_connect = Clock::now();
  for (;;) {
    std::vector<Finish> batch;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        auto now = Clock::now();
        if (!locked_.empty() && now >= retry_locked_) {
          if (queued_.empty()) oldest_ = now;
          for (auto& f : locked_) queued_.push_back(std::move(f));
          locked_.clear();
          retry_locked_ = Clock::time_point::max();
        }
        if (stop.stop_requested() && !draining_) return;
        if (draining_ && ((queued_.empty() && locked_.empty()) || now >= drain_deadline_)) {
          left_ = queued_.size() + locked_.size();
          return;
        }
        if (now >= retry_connect && flush_due(queued_.size(), p_.held.running(), oldest_, now, draining_)) {
          batch.swap(queued_);
          oldest_ = Clock::time_point::max();
          break;
        }
        // Sleep until a batch is due, a row lock may be gone, reconnecting is due, or the drain ends;
        // pushes and drain_and_stop() wake it.
        auto until = std::min(retry_locked_, drain_deadline_);
        if (!queued_.empty()) until = std::min(until, std::max(oldest_ + kBatchDelay, retry_connect));
        cv_.wait_until(lock, stop, until, [&] { return changed_; });
        changed_ = false;
      }
    }
    try {
      if (!conn) {
        conn = wo::worker::connect(p_.database);
        backoff.reset();
        p_.readiness.set("completer", "");
      }
      write(conn, batch);
      on_written_();
    } catch (const std::exception& e) {
      p_.metrics.db_errors.inc();
      conn.reset();
      auto delay = backoff.next();
      retry_connect = Clock::now() + delay;
      p_.readiness.set("completer", "database: " + std::string(e.what()));
      wo::log::warn("queue database error writing outcomes; reconnecting",
                    {{"queue", p_.options.table}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
      std::lock_guard lock(mu_);
      if (queued_.empty()) oldest_ = Clock::now();
      for (auto& f : batch) queued_.push_back(std::move(f));
    }
  }
}

void Completer::write(std::unique_ptr<pqxx::connection>& conn, std::vector<Finish>& batch) {
  auto results = p_.store.finish(*conn, batch, p_.options.max_attempts);
  std::set<int64_t> locked, answered;
  for (const auto& r : results) {
    answered.insert(r.id);
    if (r.locked) {
      locked.insert(r.id);
      continue;
    }
    if (r.state == kCompleted) {
      p_.metrics.processed.inc();
    } else if (r.state == kFailed) {
      p_.metrics.failed.inc();
    } else if (r.state == kErrored) {
      p_.metrics.retried.inc();
    } else if (r.state == kCanceled) {
      p_.metrics.canceled.inc();
    } else if (r.state == kQueued) {
      p_.metrics.released.inc();
    }
  }
  std::vector<Finish> still_locked;
  for (auto& f : batch) {
    if (locked.count(f.id)) {
      still_locked.push_back(std::move(f));
      continue;
    }
    if (!answered.count(f.id)) {
      // The attempt was reset (and maybe claimed again): its outcome is not this worker's to write.
      p_.metrics.lost.inc();
      wo::log::warn("outcome not written: the attempt is no longer this worker's (reset, maybe claimed again)",
                    {{"queue", p_.options.table},
                     {"id", f.id},
                     {"attempt_token", f.attempt_token},
                     {"outcome", std::string(to_string(f.outcome))}});
    }
    p_.held.release(f.id, f.attempt_token);
  }
  if (!still_locked.empty()) {
    wo::log::debug("outcomes of row-locked records wait for their lock",
                   {{"queue", p_.options.table}, {"records", static_cast<int64_t>(still_locked.size())}});
    std::lock_guard lock(mu_);
    for (auto& f : still_locked) locked_.push_back(std::move(f));
    retry_locked_ = std::min(retry_locked_, Clock::now() + locked_retry_);
  }
}

}  // namespace wo::queue
