// The worker binary as a child process of a test: its output in a file, its termination log in a
// temporary file, killed (SIGKILL) and reaped by the destructor if still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace wo::worker::testing {

class WorkerProcess {
 public:
  // Starts the worker binary built with the tests, with flags for tests (HTTP on a free loopback port,
  // text logs, a 2 s statement timeout) before args. extra_env ("NAME=value") is added to (or replaces in)
  // the test's own environment. Throws std::runtime_error when the process cannot be started.
  explicit WorkerProcess(std::vector<std::string> args, const std::string& config_yaml = "",
                         const std::vector<std::string>& extra_env = {});
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  void signal(int sig);
  // The exit status (128 + signal when killed), or -1 if still running at the deadline.
  int wait_exit(std::chrono::milliseconds timeout);
  std::string output() const;
  // The port of /healthz, /readyz and /metrics once the worker logged it, else 0.
  int http_port() const;
  pid_t pid() const { return pid_; }
  std::string termination_message() const;

 private:
  std::string base_, output_, termination_log_;
  pid_t pid_ = -1;
  int code_ = -1;
};

}  // namespace wo::worker::testing
