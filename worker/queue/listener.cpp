#include "queue/listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include "core/backoff.h"
#include "wo/clock.h"
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
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd for the LISTEN connection");
}

Listener::~Listener() {
  stop();
  ::close(stop_fd_);
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
  const std::stop_callback wake_on_stop(stop, [this] {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);  // cannot fail short of a full counter
  });
  wo::worker::ReconnectBackoff backoff;
  while (!stop.stop_requested()) {
    try {
      auto conn = wo::worker::connect(database_);
      WakeReceiver receiver(*conn, channel_, on_wake_);
      on_wake_();  // notifications sent while we were not listening are lost: look once
      backoff.reset();
      wait_for_notifications(*conn, stop);
    } catch (const std::exception& e) {
      auto delay = backoff.next();
      wo::log::debug("LISTEN connection failed; polling meanwhile",
                     {{"channel", channel_}, {"error", e.what()}, {"retry_in_ms", delay.count()}});
      wo::steady_clock().sleep_for(stop, delay);
    }
  }
}

void Listener::wait_for_notifications(pqxx::connection& conn, const std::stop_token& stop) const {
  while (!stop.stop_requested()) {
    if (!conn.is_open()) throw pqxx::broken_connection("the LISTEN connection closed");
    std::array<pollfd, 2> fds{{{conn.sock(), POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll on the LISTEN connection");
    }
    conn.get_notifs();  // calls the receiver for each; throws broken_connection when the server is gone
  }
}

}  // namespace wo::queue
