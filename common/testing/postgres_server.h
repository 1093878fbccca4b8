// A throwaway PostgreSQL server for integration tests.
//
// Each PostgresServer owns a fresh temporary directory holding a new cluster (initdb), listens on a free
// loopback port with its unix socket inside that directory, and runs with fsync off (tests need speed,
// not durability). It can be stopped and started again on the same data and port (to test recovery
// from a database restart). The destructor stops the server and deletes the directory; a small guardian
// process does the same if the test process dies without running destructors (abort, SIGKILL).
//
// As root, the cluster runs as the `postgres` OS user (initdb refuses to run as root).
// Binaries come from WO_POSTGRES_BIN, else /usr/lib/postgresql/15/bin.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wo::testing {

class PostgresServer {
 public:
  // Creates the cluster and starts it. Throws std::runtime_error with the reason (missing binaries,
  // initdb or startup failure with the tail of the server log).
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the stopped server (same data directory and port); waits until it accepts connections.
  void start();
  // Fast shutdown (SIGINT: open sessions are disconnected); waits until the server has exited.
  void stop();
  bool running() const { return pid_ > 0; }

  // libpq keyword/value connection string for a database on this server (superuser `postgres`, trust auth).
  std::string connection_string(std::string_view dbname = "postgres") const;
  uint16_t port() const { return port_; }
  const std::string& directory() const { return dir_; }
  // The last bytes of the server log, for failure messages.
  std::string log_tail(std::size_t max_bytes = 4000) const;

  // One server per test process, started on first use and stopped at exit (or by the guardian).
  static PostgresServer& shared();

 private:
  void wait_until_ready(std::chrono::seconds timeout);

  std::string bin_dir_;
  std::string dir_;
  std::string data_dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int guardian_fd_ = -1;  // write end of the guardian's stdin pipe; closing it (or dying) triggers cleanup
  pid_t guardian_pid_ = -1;
  bool as_postgres_user_ = false;
  unsigned uid_ = 0, gid_ = 0;
};

}  // namespace wo::testing
