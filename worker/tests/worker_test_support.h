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

// Runs one query returning a single integer (e.g. a count).
long long query_int(const std::string& dsn, const std::string& sql);

}  // namespace wo::worker::testing
