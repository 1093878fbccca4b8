#include "wo/http_server.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> under C++20.
#include <optional>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "wo/log.h"

namespace wo::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024;

// What the sessions serve: the handlers, and the thread and count of waiting requests of the blocking ones.
struct Routes {
  std::map<std::string, Handler> handlers;
  std::map<std::string, Handler> blocking;
  std::unique_ptr<asio::thread_pool> blocking_thread;  // created by the first handle_blocking()
  std::atomic<int> blocking_queued{0};
};

Response call(const Handler& handler, const Request& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    log::error("http handler failed", {{"path", request.path}, {"error", e.what()}});
    return {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
  }
}

// One connection: read a request, answer it, repeat while the client keeps the connection alive.
// Every read and write has a deadline, so a client that goes quiet cannot hold the server.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Routes& routes) : stream_(std::move(socket)), routes_(routes) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestBytes);
    parser_->body_limit(kMaxRequestBytes);
    stream_.expires_after(kIdleTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // end_of_stream, timeouts and resets are ordinary ways for a probe connection to end.
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    const auto& req = parser_->get();
    Request request;
    request.method = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    const auto q = target.find('?');
    request.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = request.method == "HEAD";

    const auto it = routes_.handlers.find(request.path);
    const auto blocking = routes_.blocking.find(request.path);
    if (it == routes_.handlers.end() && blocking == routes_.blocking.end()) {
      write({404, "text/plain; charset=utf-8", "not found\n"});
    } else if (request.method != "GET" && !head_) {
      write({405, "text/plain; charset=utf-8", "method not allowed\n"});
    } else if (it != routes_.handlers.end()) {
      write(call(it->second, request));
    } else {
      run_blocking(blocking->second, std::move(request));
    }
  }

  // On the blocking thread, then back on the server's thread to write the answer.
  void run_blocking(const Handler& handler, Request request) {
    if (routes_.blocking_queued.fetch_add(1) >= Server::kMaxBlockingQueued) {
      routes_.blocking_queued.fetch_sub(1);
      write({503, "text/plain; charset=utf-8", "busy: too many requests for " + request.path + "\n"});
      return;
    }
    asio::post(*routes_.blocking_thread, [self = shared_from_this(), &handler, request = std::move(request)] {
      Response response = call(handler, request);
      self->routes_.blocking_queued.fetch_sub(1);
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
    });
  }

  void write(Response response) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<bhttp::status>(response.status));
    res->set(bhttp::field::content_type, response.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    res->keep_alive(keep_alive_);
    if (!head_) res->body() = std::move(response.body);
    res->prepare_payload();
    stream_.expires_after(kIdleTimeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code wec, std::size_t) {
      if (wec || !res->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Routes& routes_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
};

}  // namespace

std::pair<std::string, uint16_t> parse_listen_address(std::string_view address) {
  std::string_view host, port_text = address;
  if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("invalid listen address \"" + std::string(address) +
                                "\": want host:port, :port or port (port 0-65535)");
  }
  return {host.empty() ? "0.0.0.0" : std::string(host), static_cast<uint16_t>(port)};
}

struct Server::Impl {
  std::string address;
  Routes routes;
  asio::io_context io{1};
  std::optional<tcp::acceptor> acceptor;
  std::jthread thread;  // runs io; stop() ends io.run() and joins it
  std::atomic<uint16_t> port{0};
  std::mutex mu;
  bool started = false;
  bool stopped = false;

  void accept() {
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), routes)->start();
      accept();
    });
  }
};

Server::Server(std::string listen_address) : impl_(std::make_unique<Impl>()) {
  parse_listen_address(listen_address);  // validate early, with the flag's text in the error
  impl_->address = std::move(listen_address);
}

Server::~Server() {
  stop();
}

void Server::handle(std::string path, Handler handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) throw std::logic_error("http::Server::handle called after start()");
  impl_->routes.handlers[std::move(path)] = std::move(handler);
}

void Server::handle_blocking(std::string path, Handler handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) throw std::logic_error("http::Server::handle_blocking called after start()");
  if (!impl_->routes.blocking_thread) impl_->routes.blocking_thread = std::make_unique<asio::thread_pool>(1);
  impl_->routes.blocking[std::move(path)] = std::move(handler);
}

void Server::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return;
  const auto [host, port] = parse_listen_address(impl_->address);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("cannot listen on \"" + impl_->address + "\": invalid IP address " + host);
  const tcp::endpoint endpoint(ip, port);
  auto& acceptor = impl_->acceptor.emplace(impl_->io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on \"" + impl_->address + "\": " + ec.message());
  impl_->port = acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::jthread([impl = impl_.get()] {
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {
        log::error("http server loop failed; continuing", {{"error", e.what()}});
      }
    }
  });
  impl_->started = true;
}

void Server::stop() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
    impl->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  // A running blocking handler finishes (its answer is posted to the stopped loop and dropped); queued
  // ones never start.
  if (impl_->routes.blocking_thread) {
    impl_->routes.blocking_thread->stop();
    impl_->routes.blocking_thread->join();
    impl_->routes.blocking_thread.reset();  // drops the abandoned requests' sessions while io still exists
  }
}

uint16_t Server::port() const {
  return impl_->port.load();
}

}  // namespace wo::http
