#include "queue/heartbeater.h"

#include "core/backoff.h"
#include "queue/completer.h"
#include "wo/log.h"

namespace wo::queue {

using Clock = std::chrono::steady_clock;

Heartbeater::Heartbeater(PartContext part) : p_(std::move(part)) {
  p_.database.lock_timeout = kQueueLockTimeout;
}

Heartbeater::~Heartbeater() {
  stop();
}

void Heartbeater::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { loop(stop); });
}

void Heartbeater::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Heartbeater::loop(const std::stop_token& stop) {
  const auto locked_retry = std::min<std::chrono::milliseconds>(p_.options.heartbeat_interval, kLockedRetry);
  std::unique_ptr<pqxx::connection> conn;
  wo::worker::ReconnectBackoff backoff;
  auto next = Clock::now() + p_.options.heartbeat_interval;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, stop, next, [] { return false; });
    }
    if (stop.stop_requested()) return;
    auto attempts = p_.held.attempts();
    if (attempts.empty()) {
      next = Clock::now() + p_.options.heartbeat_interval;
      continue;
    }
    try {
      if (!conn) {
        conn = wo::worker::connect(p_.database);
        backoff.reset();
        p_.readiness.set("heartbeater", "");
      }
      auto effect = p_.held.apply_heartbeat(attempts, p_.store.heartbeat(*conn, attempts));
      for (int64_t id : effect.lost) {
        wo::log::warn("heartbeat lost a record (reset or changed elsewhere); cancelling its handler",
                      {{"queue", p_.options.table}, {"id", id}});
      }
      // A row-locked record was not refreshed: try again soon rather than a whole interval later.
      next = Clock::now() + (effect.any_locked ? locked_retry : p_.options.heartbeat_interval);
    } catch (const std::exception& e) {
      p_.metrics.db_errors.inc();
      conn.reset();
      auto delay = std::min<std::chrono::milliseconds>(backoff.next(), p_.options.heartbeat_interval);
      next = Clock::now() + delay;
      p_.readiness.set("heartbeater", "database: " + std::string(e.what()));
      wo::log::warn("queue heartbeat failed; reconnecting",
                    {{"queue", p_.options.table}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
    }
  }
}

}  // namespace wo::queue
