#include "tests/worker_test_support.h"

#include <unistd.h>
#include <atomic>
#include <thread>

#include "testing/postgres_server.h"

namespace wo::worker::testing {

std::string fresh_database() {
  static std::atomic<int> counter{0};
  auto& server = wo::testing::PostgresServer::shared();
  std::string name = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  pqxx::connection c(server.connection_string());
  pqxx::nontransaction tx(c);
  tx.exec("CREATE DATABASE " + name);
  return server.connection_string(name);
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

long long query_int(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<long long>(0);
}

}  // namespace wo::worker::testing
