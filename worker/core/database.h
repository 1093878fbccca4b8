// Connecting to Postgres as a good neighbour in a shared database: every connection names its job
// (application_name = worker:<job>), runs statements under a timeout and uses TCP keepalives so a dead
// server is noticed. Connections are per thread (libpqxx connections are not thread-safe).
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <string>

namespace wo::cli {
class FlagSet;
}

namespace wo::worker {

struct DatabaseOptions {
  // A libpq connection URI (postgres://...) or keyword/value string; empty uses libpq's PG* variables.
  std::string url;
  std::string application_name = "worker";
  std::chrono::milliseconds statement_timeout{30000};  // 0: none
  std::chrono::milliseconds lock_timeout{0};           // 0: none (the server's default)
  std::chrono::seconds connect_timeout{5};
};

// Declares --database-url (WORKER_DATABASE_URL) and --statement-timeout (WORKER_STATEMENT_TIMEOUT), the
// database settings every command of the worker binary shares.
void declare_database_flags(wo::cli::FlagSet& flags);
// The options those flags give, for connections named application_name.
DatabaseOptions database_options(const wo::cli::FlagSet& flags, std::string application_name);

// The connection string libpq gets: url plus application_name, statement_timeout, lock_timeout, connect_timeout and
// keepalive settings (appended, so they override the same keys in url).
std::string connection_string(const DatabaseOptions& options);

// Opens a connection; throws pqxx::broken_connection when the server cannot be reached.
std::unique_ptr<pqxx::connection> connect(const DatabaseOptions& options);

// Exponential backoff for reconnect attempts: 100 ms doubling to max, with ±20 % jitter.
class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(std::chrono::milliseconds max = std::chrono::milliseconds(5000)) : max_(max) {}
  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds max_;
  int failures_ = 0;
};

// True for errors after which the connection must be dropped and rebuilt (lost server, failed or
// unknown commit): pqxx::broken_connection and pqxx::in_doubt_error.
bool is_connection_error(const std::exception& e);

}  // namespace wo::worker
