#include "testing/postgres_server.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <filesystem>
#include <string>

namespace wo::testing {
namespace {

int select_one(const std::string& dsn) {
  pqxx::connection c(dsn);
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT 1")[0].as<int>();
}

TEST(PostgresServerTest, StartsStopsRestartsAndCleansUp) {
  std::string dir;
  {
    PostgresServer server;
    dir = server.directory();
    ASSERT_TRUE(std::filesystem::exists(dir));
    EXPECT_EQ(select_one(server.connection_string()), 1);

    server.stop();
    EXPECT_FALSE(server.running());
    EXPECT_THROW(select_one(server.connection_string()), pqxx::broken_connection);

    uint16_t port = server.port();
    server.start();
    EXPECT_EQ(server.port(), port);
    EXPECT_EQ(select_one(server.connection_string()), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " should have been deleted";
}

TEST(PostgresServerTest, SharedServerIsReusable) {
  PostgresServer& a = PostgresServer::shared();
  PostgresServer& b = PostgresServer::shared();
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(select_one(a.connection_string()), 1);
}

}  // namespace
}  // namespace wo::testing
