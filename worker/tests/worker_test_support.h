// Helpers shared by the worker's integration tests: a fresh database per test on the shared throwaway
// Postgres server, and waiting on conditions with deadlines (never fixed sleeps).
#pragma once

#include <pqxx/pqxx>

#include <string>

#include "testing/wait.h"

namespace wo::worker::testing {

// Creates an empty database on the shared test server; returns its connection string.
std::string fresh_database();

// Waiting with a deadline is common/testing's; named here too, since the worker's tests reach it as
// wo::worker::testing::wait_until.
using wo::testing::wait_until;

// Runs SQL (one or more statements) in autocommit.
void run_sql(const std::string& dsn, const std::string& sql);

// Runs one query returning a single integer (e.g. a count).
long long query_int(const std::string& dsn, const std::string& sql);
// The first column of the one row `sql` returns, as text ("" for NULL).
std::string query_text(const std::string& dsn, const std::string& sql);

// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

}  // namespace wo::worker::testing
