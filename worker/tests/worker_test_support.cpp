#include "tests/worker_test_support.h"

#include <unistd.h>
#include <atomic>
#include <fstream>
#include <sstream>
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

void run_sql(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

long long query_int(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<long long>(0);
}

std::string query_text(const std::string& dsn, const std::string& sql) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<std::string>("");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace wo::worker::testing
