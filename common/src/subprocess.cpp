#include "wo/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace wo::subprocess {
namespace {

using Clock = std::chrono::steady_clock;

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
  bool open() const { return fd >= 0; }
};

std::runtime_error system_error(const std::string& what, int err = errno) {
  return std::runtime_error(what + ": " + std::generic_category().message(err));
}

void make_pipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw system_error("pipe");
  read_end.fd = fds[0];
  write_end.fd = fds[1];
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Appends to out, keeping its last `limit` bytes.
void append_tail(std::string& out, const char* data, std::size_t n, std::size_t limit, bool& truncated) {
  out.append(data, n);
  if (out.size() > limit) {
    out.erase(0, out.size() - limit);
    truncated = true;
  }
}

// Reads what is there; closes fd at end of file or on an error other than a retry.
void drain(Fd& fd, std::string& out, std::size_t limit, bool& truncated) {
  std::array<char, 8192> buf{};
  const ssize_t r = ::read(fd.fd, buf.data(), buf.size());
  if (r > 0) {
    append_tail(out, buf.data(), static_cast<std::size_t>(r), limit, truncated);
  } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
    fd.reset();
  }
}

pid_t spawn(const Command& c, int stdin_fd, int stdout_fd, int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Both binaries block SIGTERM/SIGINT (ShutdownSignal) and ignore SIGPIPE; the child gets defaults, and
  // a process group of its own so that stopping it stops everything it started.
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (const int s : {SIGPIPE, SIGTERM, SIGINT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  // posix_spawn takes char* const[]; it does not write through them.
  std::vector<char*> args;
  args.reserve(c.argv.size() + 1);
  for (const auto& a : c.argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT(*-const-cast)
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(c.env.size() + 1);
  for (const auto& e : c.env) envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT(*-const-cast)
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, c.program.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw system_error("cannot start " + c.argv[0] + " (" + c.program + ")", rc);
  return pid;
}

// One running child: its pipes, how to learn it exited, and how it is being stopped.
class Child {
 public:
  Child(const Command& c, std::stop_token stop) : c_(c), stop_(std::move(stop)) {
    Fd in_r;
    Fd out_w;
    Fd err_w;
    make_pipe(in_r, in_w_);
    make_pipe(out_r_, out_w);
    if (!c.merge_stderr) make_pipe(err_r_, err_w);
    wake_.fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!wake_.open()) throw system_error("eventfd");
    pid_ = spawn(c, in_r.fd, out_w.fd, c.merge_stderr ? out_w.fd : err_w.fd);
    // Without pidfds (an old kernel, a seccomp profile refusing them) exit is polled instead.
    // (The system call itself: bookworm's <sys/pidfd.h> lacks the C linkage C++ needs.)
    exit_.fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // NOLINT(cppcoreguidelines-pro-type-vararg)
    ::fcntl(in_w_.fd, F_SETFL, O_NONBLOCK);
    if (c.input.empty()) in_w_.reset();
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  Result wait() {
    const std::stop_callback wake_on_stop(stop_, [this] {
      const std::uint64_t one = 1;
      [[maybe_unused]] const auto n = ::write(wake_.fd, &one, sizeof one);
    });
    // Runs until the child exited and its pipes closed. A descendant that left the process group and
    // holds a pipe open keeps the run going even after the group was killed: it may still be doing the
    // work, and only the container's end (a failed liveness probe) stops it for sure.
    while (!exited_ || out_r_.open() || err_r_.open()) step();
    result_.stopped = term_sent_;
    return result_;
  }

 private:
  void step() {
    stop_if_due();
    std::vector<pollfd> fds;
    const auto add = [&fds](const Fd& fd, short events) {
      if (fd.open()) fds.push_back({fd.fd, events, 0});
    };
    add(out_r_, POLLIN);
    add(err_r_, POLLIN);
    add(in_w_, POLLOUT);
    if (!exited_) add(exit_, POLLIN);
    if (!term_sent_) add(wake_, POLLIN);
    if (::poll(fds.data(), fds.size(), timeout_ms()) < 0 && errno != EINTR) throw system_error("poll");
    const auto ready = [&fds](const Fd& fd) {
      return fd.open() && std::any_of(fds.begin(), fds.end(), [&](const pollfd& p) {
               return p.fd == fd.fd && (p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) != 0;
             });
    };
    if (ready(in_w_)) write_input();
    if (ready(out_r_)) drain(out_r_, result_.output, c_.output_limit, result_.truncated);
    if (ready(err_r_)) drain(err_r_, result_.error_output, c_.output_limit, result_.truncated);
    if (!exited_ && (!exit_.open() || ready(exit_))) reap();
  }

  // Milliseconds until the next thing to do on a clock (the deadline, the SIGKILL), -1 for none; short
  // when exit must be polled.
  int timeout_ms() const {
    auto next = Clock::time_point::max();
    if (!term_sent_) next = c_.deadline;
    if (term_sent_ && !kill_sent_) next = kill_at_;
    int ms = -1;
    if (next != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
      ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    if (!exited_ && !exit_.open()) ms = ms < 0 ? 20 : std::min(ms, 20);
    return ms;
  }

  void stop_if_due() {
    const auto now = Clock::now();
    if (!term_sent_ && (stop_.stop_requested() || now >= c_.deadline)) {
      result_.timed_out = !stop_.stop_requested();
      ::kill(-pid_, SIGTERM);
      term_sent_ = true;
      kill_at_ = now + c_.kill_grace;
    } else if (term_sent_ && !kill_sent_ && now >= kill_at_) {
      ::kill(-pid_, SIGKILL);
      kill_sent_ = true;
    }
  }

  // A write to a command that closed its stdin raises SIGPIPE, which would end a caller that does not
  // ignore it: the signal is blocked around the write and a pending one consumed.
  void write_input() {
    sigset_t pipe_only;
    sigset_t previous;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    const ssize_t w = ::write(in_w_.fd, c_.input.data() + written_, c_.input.size() - written_);
    const int err = errno;
    if (w < 0 && err == EPIPE && sigismember(&previous, SIGPIPE) == 0) {
      const timespec zero{};
      while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    errno = err;
    if (w > 0) written_ += static_cast<std::size_t>(w);
    if (w < 0 && errno != EAGAIN && errno != EINTR) in_w_.reset();  // EPIPE: it does not read stdin
    if (written_ >= c_.input.size()) in_w_.reset();
  }

  void reap() {
    int status = 0;
    const pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w < 0 && errno != EINTR) throw system_error("waitpid");
    if (w != pid_) return;
    exited_ = true;
    in_w_.reset();
    if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  }

  const Command& c_;
  std::stop_token stop_;
  Fd in_w_, out_r_, err_r_, wake_, exit_;
  pid_t pid_ = -1;
  std::size_t written_ = 0;
  bool exited_ = false, term_sent_ = false, kill_sent_ = false;
  Clock::time_point kill_at_ = Clock::time_point::max();
  Result result_;
};

}  // namespace

std::optional<std::string> find_executable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return std::nullopt;
  }
  std::string path;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): neither binary modifies its environment
  if (const char* p = std::getenv("PATH"); p != nullptr) {
    path = p;
  } else {
    // What execvp searches when PATH is unset.
    const std::size_t n = ::confstr(_CS_PATH, nullptr, 0);
    path.resize(n);
    if (n > 0) ::confstr(_CS_PATH, path.data(), n);
    path.resize(n > 0 ? n - 1 : 0);
  }
  for (std::size_t start = 0;;) {
    const std::size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = dir.empty() ? name : dir.append("/").append(name);
    if (is_executable_file(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

Result run(const Command& command, std::stop_token stop) {
  if (command.argv.empty()) throw std::runtime_error("empty command");
  Child child(command, std::move(stop));
  return child.wait();
}

}  // namespace wo::subprocess
