#include "jobs/builtin/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace wo::jobs {
namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

void make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::generic_category().message(errno));
  read_end.fd = fds[0];
  write_end.fd = fds[1];
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::string> find_executable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return std::nullopt;
  }
  std::string path;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the worker never modifies its environment
  if (const char* p = std::getenv("PATH"); p != nullptr) {
    path = p;
  } else {
    // What execvp searches when PATH is unset.
    std::size_t n = ::confstr(_CS_PATH, nullptr, 0);
    path.resize(n);
    if (n > 0) ::confstr(_CS_PATH, path.data(), n);
    path.resize(n > 0 ? n - 1 : 0);
  }
  for (std::size_t start = 0;;) {
    std::size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = dir.empty() ? name : dir.append("/").append(name);
    if (is_executable_file(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

SubprocessResult run_subprocess(const std::string& program, const std::vector<std::string>& argv,
                                const std::vector<std::string>& env, std::string_view input, std::size_t output_limit,
                                const wo::worker::CancelToken& token, std::chrono::milliseconds kill_grace) {
  if (argv.empty()) throw std::runtime_error("empty command");
  Fd in_r, in_w, out_r, out_w;
  make_pipe(in_r, in_w);
  make_pipe(out_r, out_w);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The worker blocks SIGTERM/SIGINT (ShutdownSignal) and ignores SIGPIPE; the child gets defaults, and a
  // process group of its own so that cancelling kills everything it started.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::generic_category().message(rc));
  in_r.reset();
  out_w.reset();
  ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);

  SubprocessResult result;
  std::size_t written = 0;
  if (input.empty()) in_w.reset();
  auto kill_at = std::chrono::steady_clock::time_point::max();
  bool term_sent = false, kill_sent = false;
  auto check_cancel = [&] {
    if (!token.cancelled()) return;
    auto now = std::chrono::steady_clock::now();
    if (!term_sent) {
      ::kill(-pid, SIGTERM);
      term_sent = true;
      kill_at = now + kill_grace;
    } else if (!kill_sent && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      kill_sent = true;
    }
  };
  char buf[8192];
  while (out_r.fd >= 0) {
    check_cancel();
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {in_w.fd, POLLOUT, 0}};
    int n = ::poll(fds, in_w.fd >= 0 ? 2 : 1, 50);
    if (n < 0 && errno != EINTR) break;
    if (in_w.fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = ::write(in_w.fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();  // EPIPE: the command does not read stdin
      if (written >= input.size()) in_w.reset();
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t r = ::read(out_r.fd, buf, sizeof buf);
      if (r > 0) {
        result.output.append(buf, static_cast<std::size_t>(r));
        if (result.output.size() > output_limit) {
          result.output.erase(0, result.output.size() - output_limit);
          result.truncated = true;
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_r.reset();
      }
    }
  }
  in_w.reset();
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      throw std::runtime_error(std::string("waitpid: ") + std::generic_category().message(errno));
    check_cancel();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  result.stopped = term_sent;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace wo::jobs
