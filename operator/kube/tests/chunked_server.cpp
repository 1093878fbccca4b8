#include "chunked_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "support.h"

namespace wo::kube::testing {

ChunkedServer::ChunkedServer() {
  listen_fd_ = listen_on_loopback(port_);
  thread_ = std::thread([this] { serve(); });
}

ChunkedServer::~ChunkedServer() {
  cut();
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  thread_.join();
}

void ChunkedServer::send_chunk(std::string data) {
  std::lock_guard lock(mu_);
  ops_.emplace_back(Op::chunk, std::move(data));
  cv_.notify_all();
}

void ChunkedServer::finish() {
  std::lock_guard lock(mu_);
  ops_.emplace_back(Op::finish, "");
  cv_.notify_all();
}

void ChunkedServer::cut() {
  std::lock_guard lock(mu_);
  ops_.emplace_back(Op::cut, "");
  cv_.notify_all();
}

std::string ChunkedServer::request_line() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return request_line_.has_value(); });
  return *request_line_;
}

static bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void ChunkedServer::serve() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  {
    std::lock_guard lock(mu_);
    request_line_ = req.substr(0, req.find("\r\n"));
    cv_.notify_all();
  }
  write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !ops_.empty(); });
    auto [op, data] = ops_.front();
    ops_.pop_front();
    lock.unlock();
    if (op == Op::chunk) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      write_all(fd, size + data + "\r\n");
    } else {
      if (op == Op::finish) write_all(fd, "0\r\n\r\n");
      break;
    }
  }
  close(fd);
}

}  // namespace wo::kube::testing
