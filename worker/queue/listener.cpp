#include "queue/listener.h"

#include "core/backoff.h"
#include "wo/log.h"

namespace wo::queue {
namespace {

struct WakeReceiver final : pqxx::notification_receiver {
  WakeReceiver(pqxx::connection_base& c, const std::string& channel, const std::function<void()>& on_wake)
      : pqxx::notification_receiver(c, channel), wake(on_wake) {}
  void operator()(const std::string&, int) override { wake(); }
  const std::function<void()>& wake;
};

}  // namespace

Listener::Listener(wo::worker::DatabaseOptions database, std::string channel, std::function<void()> on_wake)
    : database_(std::move(database)), channel_(std::move(channel)), on_wake_(std::move(on_wake)) {
  database_.statement_timeout = std::chrono::milliseconds(0);
}

Listener::~Listener() {
  stop();
}

void Listener::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { loop(stop); });
}

void Listener::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void Listener::loop(const std::stop_token& stop) {
  wo::worker::ReconnectBackoff backoff;
  while (!stop.stop_requested()) {
    try {
      auto conn = wo::worker::connect(database_);
      WakeReceiver receiver(*conn, channel_, on_wake_);
      on_wake_();  // notifications sent while we were not listening are lost: look once
      backoff.reset();
      // A timed wait, so that a stop request is seen within 200 ms.
      while (!stop.stop_requested()) conn->await_notification(0, 200000);
    } catch (const std::exception& e) {
      auto delay = backoff.next();
      wo::log::debug("LISTEN connection failed; polling meanwhile",
                     {{"channel", channel_}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, delay, [] { return false; });
    }
  }
}

}  // namespace wo::queue
