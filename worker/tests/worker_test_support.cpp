#include "tests/worker_test_support.h"

#include <unistd.h>
#include <atomic>

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

long long query_int(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<long long>(0);
}

}  // namespace wo::worker::testing
