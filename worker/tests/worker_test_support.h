// Helpers shared by the worker's integration tests: a fresh database per test on the shared throwaway
// Postgres server, and waiting on conditions with deadlines (never fixed sleeps).
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <string>

namespace wo::worker::testing {

// Creates an empty database on the shared test server; returns its connection string.
std::string fresh_database();

// Polls cond every 10 ms until it holds or timeout passes; returns whether it held.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs one query returning a single integer (e.g. a count).
long long query_int(const std::string& dsn, const std::string& sql);

}  // namespace wo::worker::testing
