// A loopback TCP proxy in front of the API server, so tests can cut connections mid-stream, make the
// server look down (a restart, from the client's side) or make it hang (a partition), without touching
// the shared cluster.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace wo::kube::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port);
  ~TcpProxy();
  uint16_t port() const { return port_; }
  // Closes every open connection (both sides) at once.
  void cut_all();
  // While refusing, new connections are closed as soon as they are accepted.
  void set_refusing(bool refusing) { refusing_ = refusing; }
  // While stalled, connections (open and new) are accepted and kept open but no byte moves in either
  // direction: a request gets no answer, as behind a network partition. Un-stalling forwards what was
  // held, as a healed partition would.
  void set_stalled(bool stalled) { stalled_ = stalled; }
  int connections_accepted() const { return accepted_.load(); }

 private:
  void accept_loop();
  void pump(int client_fd, int server_fd);

  uint16_t target_port_, port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false}, refusing_{false}, stalled_{false};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace wo::kube::testing
