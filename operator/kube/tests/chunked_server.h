// A one-connection HTTP/1.1 server on a loopback port for stream tests: the test decides when each
// chunk of a chunked response goes out, and whether the response ends cleanly or the connection is cut.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace wo::kube::testing {

class ChunkedServer {
 public:
  ChunkedServer();
  ~ChunkedServer();
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void send_chunk(std::string data);  // sent as one HTTP chunk
  void finish();                      // the terminating chunk, then close
  void cut();                         // close the connection mid-body
  std::string request_line();         // the first line of the request received (waits for it)

 private:
  void serve();
  enum class Op { chunk, finish, cut };
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Op, std::string>> ops_;
  std::optional<std::string> request_line_;
  std::thread thread_;
};

}  // namespace wo::kube::testing
