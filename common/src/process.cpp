#include "wo/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "wo/clock.h"

namespace wo::process {

ShutdownSignal::ShutdownSignal() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) throw std::runtime_error("pthread_sigmask failed");
  const int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) throw std::runtime_error("signalfd: " + std::generic_category().message(errno));
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    ::close(sfd);
    throw std::runtime_error("eventfd: " + std::generic_category().message(errno));
  }
  waiter_ = std::jthread([this, sfd] {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents) break;  // destructor
      if (fds[0].revents) {
        signalfd_siginfo info{};
        if (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          request(info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        }
      }
    }
    ::close(sfd);
  });
}

ShutdownSignal::~ShutdownSignal() {
  // The waiter thread polls the signalfd and this eventfd without a timeout: a write ends it.
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // Nothing useful to do in a destructor; the waiter thread is joined regardless of poll's result.
  }
  if (waiter_.joinable()) waiter_.join();
  ::close(wake_fd_);
}

bool ShutdownSignal::wait_for(std::chrono::milliseconds timeout) const {
  return !steady_clock().sleep_for(token(), timeout);
}

void ShutdownSignal::wait() const {
  steady_clock().sleep_until(token(), Clock::time_point::max());
}

void ShutdownSignal::request(std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (reason_set_) return;
    reason_set_ = true;
    reason_ = std::move(reason);
  }
  // Outside the lock: stop callbacks run here, and one may ask for reason().
  source_.request_stop();
}

std::string ShutdownSignal::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

bool write_termination_message(std::string_view message, std::string_view path) {
  const std::string p(path);
  if (::access(p.c_str(), W_OK) != 0) return false;
  const int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return false;
  // Kubernetes keeps at most 4096 bytes of the message; keep the start, which says what failed.
  const size_t n = std::min<size_t>(message.size(), 4096);
  const bool ok = ::write(fd, message.data(), n) == static_cast<ssize_t>(n);
  ::close(fd);
  return ok;
}

}  // namespace wo::process
