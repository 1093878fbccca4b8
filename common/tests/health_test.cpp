#include "wo/health.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

namespace wo::health {
namespace {

// A minimal HTTP/1.0 GET over a raw socket, so the test depends on nothing but the server under test.
std::string get(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return "write failed";
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(Health, EndpointsReportChecksAndMetrics) {
  Checks checks;
  std::atomic<bool> db_ok{true};
  checks.add_liveness("routines", [] { return std::string(); });
  checks.add_readiness("database", [&] { return db_ok ? std::string() : std::string("connection refused"); });
  metrics::Registry registry;
  registry.counter("processed_total", "Processed.").with({}).inc(4);

  http::Server server("127.0.0.1:0");
  serve_endpoints(server, &checks, &registry);
  server.start();
  const uint16_t port = server.port();
  ASSERT_NE(port, 0);

  EXPECT_NE(get(port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_NE(get(port, "/readyz").find("[+]database ok"), std::string::npos);
  db_ok = false;
  const std::string ready = get(port, "/readyz?verbose");
  EXPECT_NE(ready.find("503"), std::string::npos) << ready;
  EXPECT_NE(ready.find("[-]database failed: connection refused"), std::string::npos) << ready;
  const std::string metrics = get(port, "/metrics");
  EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("processed_total 4"), std::string::npos) << metrics;
  EXPECT_NE(get(port, "/nope").find("404"), std::string::npos);
  server.stop();
  server.stop();
}

// A blocking handler (the status page waiting on a database) never holds up probes and scrapes.
TEST(Health, ABlockingHandlerNeverDelaysTheOtherPaths) {
  Checks checks;
  checks.add_liveness("routines", [] { return std::string(); });
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  http::Server server("127.0.0.1:0");
  serve_endpoints(server, &checks, nullptr);
  server.handle_blocking("/", [released](const http::Request&) {
    released.wait();
    return http::Response{200, "text/html; charset=utf-8", "page"};
  });
  server.start();
  const uint16_t port = server.port();
  auto page = std::async(std::launch::async, [port] { return get(port, "/"); });
  EXPECT_EQ(page.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout) << "the page waits";
  EXPECT_NE(get(port, "/healthz").find("200 OK"), std::string::npos) << "while /healthz answers";
  release.set_value();
  const std::string body = page.get();
  EXPECT_NE(body.find("200 OK"), std::string::npos) << body;
  EXPECT_NE(body.find("page"), std::string::npos) << body;
  server.stop();
}

TEST(Health, ThrowingCheckFailsWithReason) {
  Checks checks;
  checks.add_liveness("boom", []() -> std::string { throw std::runtime_error("kaput"); });
  const auto [ok, body] = checks.live();
  EXPECT_FALSE(ok);
  EXPECT_NE(body.find("[-]boom failed: check threw: kaput"), std::string::npos) << body;
}

TEST(Health, ListenAddressParsing) {
  EXPECT_EQ(http::parse_listen_address(":8080"), std::make_pair(std::string("0.0.0.0"), uint16_t{8080}));
  EXPECT_EQ(http::parse_listen_address("127.0.0.1:9"), std::make_pair(std::string("127.0.0.1"), uint16_t{9}));
  EXPECT_EQ(http::parse_listen_address("[::1]:9"), std::make_pair(std::string("::1"), uint16_t{9}));
  EXPECT_THROW(http::parse_listen_address("host:http"), std::invalid_argument);
  EXPECT_THROW(http::parse_listen_address(":70000"), std::invalid_argument);
  EXPECT_THROW(http::Server("nonsense:"), std::invalid_argument);
}

TEST(Health, StartFailsClearlyWhenPortIsTaken) {
  http::Server first("127.0.0.1:0");
  first.start();
  http::Server second("127.0.0.1:" + std::to_string(first.port()));
  try {
    second.start();
    ADD_FAILURE() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wo::health
