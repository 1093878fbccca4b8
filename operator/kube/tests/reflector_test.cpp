// The reflector against a misbehaving API server (an HTTPS server of the test's own): a watch that ends
// at once without events, or a 410 on every watch, must not make it reconnect or relist in a hot loop.
// Each test watches for a bounded window and counts the requests: a few (backoff), not hundreds.
#include <cpprest/http_listener.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <thread>

#include "kube/watch.h"
#include "support.h"
#include "testing/wait.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;
using web::http::http_request;
using web::http::status_codes;

// Answers lists with an empty ConfigMapList and watches as told, over TLS with a certificate of the test's CA.
class FakeApiServer {
 public:
  enum class Watch { ends_at_once, gone, gone_event };
  FakeApiServer(const testing::Pki& pki, Watch watch) : watch_(watch) {
    uint16_t port = 0;
    close(testing::listen_on_loopback(port));  // a free port (the listener binds it again)
    url_ = "https://127.0.0.1:" + std::to_string(port);
    web::http::experimental::listener::http_listener_config cfg;
    const std::string crt = pki.crt("server"), key = pki.key("server");
    cfg.set_ssl_context_callback([crt, key](boost::asio::ssl::context& ctx) {
      ctx.use_certificate_chain_file(crt);
      ctx.use_private_key_file(key, boost::asio::ssl::context::pem);
    });
    listener_ = std::make_unique<web::http::experimental::listener::http_listener>(url_, cfg);
    listener_->support([this](const http_request& rq) { answer(rq); });
    listener_->open().wait();
  }
  ~FakeApiServer() { listener_->close().wait(); }
  const std::string& url() const { return url_; }

 private:
  void answer(const http_request& rq) {
    const std::string query = rq.request_uri().query();
    if (query.find("watch=true") == std::string::npos) {
      rq.reply(status_codes::OK,
               web::json::value::parse(
                   R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]})"));
      return;
    }
    if (watch_ == Watch::gone) {
      rq.reply(status_codes::Gone, web::json::value::parse(R"({"kind":"Status","apiVersion":"v1","status":"Failure",)"
                                                           R"("reason":"Expired","message":"too old","code":410})"));
      return;
    }
    if (watch_ == Watch::gone_event) {
      rq.reply(status_codes::OK,
               std::string(R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)"
                           R"("reason":"Expired","message":"too old","code":410}})"
                           "\n"),
               "application/json");
      return;
    }
    rq.reply(status_codes::OK, std::string(), "application/json");  // headers, then the end: no event
  }

  Watch watch_;
  std::string url_;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener_;
};

class NullSink : public ReflectorSink {
 public:
  void replace(std::vector<web::json::value>, const std::string&) override {}
  void apply(const WatchEvent&) override {}
};

class MisbehavingServer : public ::testing::Test {
 protected:
  testing::TempDir dir;
  testing::Pki pki{dir};
  void SetUp() override { pki.issue("server", "fake-apiserver", "IP:127.0.0.1"); }
  // Runs a reflector for a bounded window against server and returns {lists, watches}.
  std::pair<int, int> run_for(const FakeApiServer& server, std::chrono::milliseconds window) {
    Config c;
    c.server = server.url();
    c.ca_pem = pki.ca_pem();
    c.source = "test";
    Client client(c);
    NullSink sink;
    ReflectorOptions o;
    o.resource = {"", "v1", "configmaps", true, "ConfigMap"};
    o.namespace_ = "test";
    Reflector reflector(client, o, sink);
    {
      std::jthread runner([&](std::stop_token stop) { reflector.run(stop); });
      // The window itself: what is asserted is how little happens in it.
      wo::testing::wait_until([] { return false; }, window, 100ms);
    }
    return {reflector.lists(), reflector.watches()};
  }
};

TEST_F(MisbehavingServer, AWatchThatEndsAtOnceIsBackedOff) {
  FakeApiServer server(pki, FakeApiServer::Watch::ends_at_once);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_EQ(lists, 1);
  EXPECT_GE(watches, 1);
  EXPECT_LE(watches, 5) << "reopened a watch that ends at once without events in a loop";
}

TEST_F(MisbehavingServer, RelistsAfter410AreBackedOff) {
  FakeApiServer server(pki, FakeApiServer::Watch::gone);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_GE(lists, 1);
  EXPECT_LE(lists, 5) << "relisted in a loop on 410";
}

TEST_F(MisbehavingServer, RelistsAfter410EventsAreBackedOff) {
  FakeApiServer server(pki, FakeApiServer::Watch::gone_event);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_GE(lists, 1);
  EXPECT_LE(lists, 5) << "relisted in a loop on 410 ERROR events";
}

}  // namespace
}  // namespace wo::kube
