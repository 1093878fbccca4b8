// The LISTEN connection of one queue worker: every NOTIFY on the table's channel calls on_wake (the
// dispatcher then claims at once). On (re)connecting it calls on_wake once too, since notifications sent
// while it was not listening are lost. Only a hint: the dispatcher polls as well. Its own thread and
// connection (notifications are never delivered to a connection inside a transaction).
//
// It waits on the connection's socket and on an eventfd that its stop request writes, both at once: a
// stop ends the wait at once, and nothing wakes while no notification comes.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <thread>

#include "core/database.h"

namespace wo::queue {

class Listener {
 public:
  Listener(wo::worker::DatabaseOptions database, std::string channel, std::function<void()> on_wake);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  void stop();

 private:
  void loop(const std::stop_token& stop);
  // Delivers notifications until stop; throws when the connection breaks.
  void wait_for_notifications(pqxx::connection& conn, const std::stop_token& stop) const;

  wo::worker::DatabaseOptions database_;
  std::string channel_;
  std::function<void()> on_wake_;
  int stop_fd_ = -1;  // an eventfd: readable once a stop is requested
  std::jthread thread_;
};

}  // namespace wo::queue
