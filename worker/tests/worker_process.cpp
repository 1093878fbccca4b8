#include "tests/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "tests/worker_test_support.h"

extern char** environ;

namespace wo::worker::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

WorkerProcess::WorkerProcess(std::vector<std::string> args, const std::string& config_yaml,
                             const std::vector<std::string>& extra_env) {
  static std::atomic<int> counter{0};
  base_ = "/tmp/wo-worker-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  output_ = base_ + ".out";
  termination_log_ = base_ + ".termination";
  std::ofstream(termination_log_).close();
  // A statement timeout short enough for the tests' short stalled_after (it must exceed statement
  // timeout + heartbeat_interval); a test may pass its own.
  std::vector<std::string> argv = {WORKER_BINARY, "--http-addr=127.0.0.1:0", "--log-format=text",
                                   "--statement-timeout=2s", "--termination-log=" + termination_log_};
  if (!config_yaml.empty()) {
    std::ofstream(base_ + ".yaml") << config_yaml;
    argv.push_back("--config=" + base_ + ".yaml");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto named = [&](const std::string& x) {
      return entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1);
    };
    if (std::none_of(extra_env.begin(), extra_env.end(), named)) env.emplace_back(entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> cenv;
  cenv.reserve(env.size() + 1);
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + std::string(WORKER_BINARY));
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(seconds(10));
  }
  for (const char* ext : {".out", ".termination", ".yaml"}) ::unlink((base_ + ext).c_str());
}

void WorkerProcess::signal(int sig) {
  ::kill(pid_, sig);
}

int WorkerProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return code_;
}

std::string WorkerProcess::output() const {
  return read_file(output_);
}

int WorkerProcess::http_port() const {
  std::smatch m;
  std::string out = output();
  return std::regex_search(out, m, std::regex("http_port=([0-9]+)")) ? std::stoi(m[1]) : 0;
}

std::string WorkerProcess::termination_message() const {
  return read_file(termination_log_);
}

}  // namespace wo::worker::testing
