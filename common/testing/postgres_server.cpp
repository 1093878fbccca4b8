#include "testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace wo::testing {
namespace {

std::runtime_error failure(const std::string& what) {
  return std::runtime_error("test postgres: " + what);
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::generic_category().message(errno);
}

// Asks the kernel for a free loopback port. Another process may take it before postgres binds it;
// start() retries with a new port in that case.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string message = errno_text("bind to a free loopback port");
    ::close(fd);
    throw failure(message);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Everything a forked child needs, prepared before fork() so the child only makes async-signal-safe calls.
struct ChildSpec {
  std::vector<std::string> args;
  int stdin_fd = -1;   // -1: /dev/null
  int output_fd = -1;  // stdout and stderr
  bool drop_to_user = false;
  unsigned uid = 0, gid = 0;
};

pid_t spawn(const ChildSpec& spec) {
  std::vector<char*> argv;
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) throw failure(errno_text("fork"));
  if (pid == 0) {
    // Child: the test process may block signals (e.g. a ShutdownSignal); the server must get them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): the forked child has one thread
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    ::setpgid(0, 0);  // own process group: a ^C at the terminal goes to the test, not to the server
    ::dup2(spec.stdin_fd >= 0 ? spec.stdin_fd : devnull, 0);
    if (spec.output_fd >= 0) {
      ::dup2(spec.output_fd, 1);
      ::dup2(spec.output_fd, 2);
    }
    if (spec.drop_to_user) {
      gid_t gid = spec.gid;
      if (::setgroups(1, &gid) != 0 || ::setgid(spec.gid) != 0 || ::setuid(spec.uid) != 0) ::_exit(126);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(devnull);
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

PostgresServer::PostgresServer() {
  const char* env_bin = std::getenv("WO_POSTGRES_BIN");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  bin_dir_ = env_bin != nullptr && *env_bin != '\0' ? env_bin : "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "postgres"}) {
    std::string path = bin_dir_ + "/" + tool;
    if (::access(path.c_str(), X_OK) != 0) {
      throw failure(path +
                    " not found or not executable; install postgresql-15 (make setup) or point WO_POSTGRES_BIN "
                    "at a PostgreSQL bin directory");
    }
  }

  as_postgres_user_ = ::geteuid() == 0;
  if (as_postgres_user_) {
    passwd entry{};
    passwd* pw = nullptr;
    std::vector<char> buffer(16384);
    ::getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &pw);
    if (pw == nullptr) throw failure("running as root but there is no `postgres` OS user to run the server as");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
  }

  // /tmp rather than $TMPDIR as root: the postgres user must be able to reach the directory.
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  std::string base = (!as_postgres_user_ && tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string templ = base + "/wo-pg-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw failure(errno_text("mkdtemp " + templ));
  dir_ = buf.data();
  data_dir_ = dir_ + "/data";
  if (as_postgres_user_ && ::chown(dir_.c_str(), uid_, gid_) != 0) {
    std::string message = errno_text("chown " + dir_);
    std::filesystem::remove_all(dir_);
    throw failure(message);
  }

  // The guardian removes the directory (stopping the server first) once our end of its stdin closes:
  // at destruction, or when this process dies in any way.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw failure(errno_text("pipe"));
  ChildSpec guardian;
  guardian.args = {"/bin/sh", "-c",
                   "while read -r _; do :; done; "
                   "if [ -f \"$1/data/postmaster.pid\" ]; then "
                   "  pid=$(head -n1 \"$1/data/postmaster.pid\"); kill -QUIT \"$pid\" 2>/dev/null; i=0; "
                   "  while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
                   "fi; rm -rf \"$1\"",
                   "wo-pg-guardian", dir_};
  guardian.stdin_fd = pipe_fds[0];
  guardian_pid_ = spawn(guardian);
  ::close(pipe_fds[0]);
  guardian_fd_ = pipe_fds[1];

  int log_fd = ::open((dir_ + "/initdb.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ChildSpec initdb;
  initdb.args = {bin_dir_ + "/initdb", "-D",        data_dir_,         "-U",        "postgres",
                 "--auth=trust",       "--no-sync", "--encoding=UTF8", "--locale=C"};
  initdb.output_fd = log_fd;
  initdb.drop_to_user = as_postgres_user_;
  initdb.uid = uid_;
  initdb.gid = gid_;
  int code = wait_exit_code(spawn(initdb));
  if (log_fd >= 0) ::close(log_fd);
  if (code != 0) {
    std::string log = read_file(dir_ + "/initdb.log");
    throw failure("initdb exited with status " + std::to_string(code) + ": " + log);
  }
  port_ = free_port();
  start();
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
    // Nothing sensible to do in a destructor; the guardian still removes everything.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (guardian_fd_ >= 0) ::close(guardian_fd_);
  if (guardian_pid_ > 0) wait_exit_code(guardian_pid_);
}

void PostgresServer::start() {
  if (running()) return;
  for (int attempt = 1;; ++attempt) {
    int log_fd = ::open((dir_ + "/postgres.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ChildSpec server;
    server.args = {bin_dir_ + "/postgres",
                   "-D",
                   data_dir_,
                   "-p",
                   std::to_string(port_),
                   "-k",
                   dir_,
                   "-h",
                   "127.0.0.1",
                   "-c",
                   "fsync=off",
                   "-c",
                   "synchronous_commit=off",
                   "-c",
                   "full_page_writes=off",
                   "-c",
                   "max_connections=300",
                   "-c",
                   "shared_buffers=64MB",
                   "-c",
                   "log_min_messages=warning",
                   "-c",
                   "log_min_error_statement=panic"};
    server.output_fd = log_fd;
    server.drop_to_user = as_postgres_user_;
    server.uid = uid_;
    server.gid = gid_;
    pid_ = spawn(server);
    if (log_fd >= 0) ::close(log_fd);
    try {
      wait_until_ready(std::chrono::seconds(60));
      return;
    } catch (const std::runtime_error&) {
      bool port_taken = log_tail().find("could not bind") != std::string::npos ||
                        log_tail().find("could not create any TCP/IP sockets") != std::string::npos;
      if (running()) stop();
      // A fresh server may move to another port; a restarted one must keep its port (clients know it).
      if (!port_taken || attempt >= 5) throw;
      port_ = free_port();
    }
  }
}

void PostgresServer::wait_until_ready(std::chrono::seconds timeout) {
  const std::string pid_file = data_dir_ + "/postmaster.pid";
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      throw failure("server exited during startup (port " + std::to_string(port_) + "); log:\n" + log_tail());
    }
    // postmaster.pid's 8th line is the postmaster status; "ready" means it accepts connections.
    std::istringstream lines(read_file(pid_file));
    std::string line;
    for (int i = 0; i < 8 && std::getline(lines, line); ++i) {
    }
    if (line.rfind("ready", 0) == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw failure("server not ready within " + std::to_string(timeout.count()) + "s; log:\n" + log_tail());
}

void PostgresServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGINT);  // fast shutdown
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGQUIT);  // immediate shutdown
      wait_exit_code(pid_);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string PostgresServer::connection_string(std::string_view dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + std::string(dbname) +
         " connect_timeout=5";
}

std::string PostgresServer::log_tail(std::size_t max_bytes) const {
  std::string log = read_file(dir_ + "/postgres.log");
  return log.size() > max_bytes ? log.substr(log.size() - max_bytes) : log;
}

PostgresServer& PostgresServer::shared() {
  // Destroyed at normal exit; on abnormal exit the guardian cleans up.
  static PostgresServer server;
  return server;
}

}  // namespace wo::testing
