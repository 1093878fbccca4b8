// A small HTTP/1.1 server for the internal endpoints (/healthz, /readyz, /metrics), on Boost.Beast.
//
// Why not cpprestsdk's http_listener: its maintainers advise against using it as a server, it ignores
// timeouts on Linux and holds half-open connections. This server handles one connection at a time
// per accept thread with read/write deadlines, which is plenty for probes and scrapes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace wo::http {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // without the query
  std::string query;   // without the '?'
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

// Splits "host:port", ":port" or "port" into a bind host ("0.0.0.0" when empty) and port; throws
// std::invalid_argument naming the bad address.
std::pair<std::string, uint16_t> parse_listen_address(std::string_view address);

class Server {
 public:
  explicit Server(std::string listen_address);  // e.g. ":8080", "127.0.0.1:0" (0 = any free port)
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a handler for an exact path. Call before start(). Unknown paths get 404. The handler runs on
  // the server's one thread, so it must answer at once (probes, scrapes).
  void handle(std::string path, Handler handler);
  // The same for a handler that may block (e.g. on a database): it runs on a thread of its own, one
  // request at a time, so the other paths keep answering meanwhile. Beyond kMaxBlockingQueued waiting
  // requests the server answers 503 at once. stop() waits for a running one.
  void handle_blocking(std::string path, Handler handler);
  static constexpr int kMaxBlockingQueued = 8;
  // Binds and starts serving on a background thread; throws std::runtime_error when the address is taken.
  void start();
  // Stops accepting and joins the thread. Idempotent; also called by the destructor.
  void stop();
  // The bound port (useful with port 0). Valid after start().
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wo::http
