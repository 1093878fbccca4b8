// The reflector against a misbehaving API server (an HTTPS server of the test's own): a watch that ends
// at once without events, or a 410 on every watch, must not make it reconnect or relist in a hot loop.
// Each test watches for a bounded window and counts the requests: a few (backoff), not hundreds.
#include <gtest/gtest.h>

#include <thread>

#include "fake_api_server.h"
#include "kube/watch.h"
#include "testing/wait.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;
using web::http::http_request;
using web::http::status_codes;

// Answers lists with an empty ConfigMapList and watches as told.
class MisbehavingApi {
 public:
  enum class Watch { ends_at_once, gone, gone_event };
  MisbehavingApi(testing::Pki& pki, Watch watch)
      : watch_(watch), server_(pki, [this](const http_request& rq) { answer(rq); }) {}
  Config config() const { return server_.config(); }

 private:
  void answer(const http_request& rq) const {
    const std::string query = rq.request_uri().query();
    if (query.find("watch=true") == std::string::npos) {
      rq.reply(status_codes::OK,
               web::json::value::parse(
                   R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]})"));
      return;
    }
    if (watch_ == Watch::gone) {
      rq.reply(status_codes::Gone, testing::status(410, "Expired", "too old"));
      return;
    }
    if (watch_ == Watch::gone_event) {
      web::json::value event = web::json::value::object();
      event["type"] = web::json::value::string("ERROR");
      event["object"] = testing::status(410, "Expired", "too old");
      rq.reply(status_codes::OK, event.serialize() + "\n", "application/json");
      return;
    }
    rq.reply(status_codes::OK, std::string(), "application/json");  // headers, then the end: no event
  }

  Watch watch_;
  testing::FakeApiServer server_;  // last: it calls answer() until it is closed
};

class NullSink : public ReflectorSink {
 public:
  void begin_list() override {}
  void list_page(std::vector<web::json::value>) override {}
  void end_list(const std::string&) override {}
  void apply(WatchEvent) override {}
};

class MisbehavingServer : public ::testing::Test {
 protected:
  testing::TempDir dir;
  testing::Pki pki{dir};
  // Runs a reflector for a bounded window against server and returns {lists, watches}.
  std::pair<int, int> run_for(const MisbehavingApi& server, std::chrono::milliseconds window) {
    Client client(server.config());
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
  MisbehavingApi server(pki, MisbehavingApi::Watch::ends_at_once);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_EQ(lists, 1);
  EXPECT_GE(watches, 1);
  EXPECT_LE(watches, 5) << "reopened a watch that ends at once without events in a loop";
}

TEST_F(MisbehavingServer, RelistsAfter410AreBackedOff) {
  MisbehavingApi server(pki, MisbehavingApi::Watch::gone);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_GE(lists, 1);
  EXPECT_LE(lists, 5) << "relisted in a loop on 410";
}

TEST_F(MisbehavingServer, RelistsAfter410EventsAreBackedOff) {
  MisbehavingApi server(pki, MisbehavingApi::Watch::gone_event);
  const auto [lists, watches] = run_for(server, 3s);
  EXPECT_GE(lists, 1);
  EXPECT_LE(lists, 5) << "relisted in a loop on 410 ERROR events";
}

}  // namespace
}  // namespace wo::kube
