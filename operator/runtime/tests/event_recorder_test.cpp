// The event recorder against fake API servers:
// - one that accepts a connection and never answers: a write in flight is cancelled, so stop() does not
//   wait for the client's timeout (and, with 0 after leadership was lost, nothing more is written);
// - one that records the Events created: events wait while the controllers have work, within bounds.
#include "runtime/event_recorder.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>

#include "fake_api_server.h"
#include "support.h"
#include "testing/wait.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using web::json::value;
using wo::testing::wait_until;

value configmap_named(const std::string& name) {
  value cm = value::object();
  cm["apiVersion"] = value::string("v1");
  cm["kind"] = value::string("ConfigMap");
  cm["metadata"]["name"] = value::string(name);
  cm["metadata"]["namespace"] = value::string("default");
  cm["metadata"]["uid"] = value::string("uid-" + name);
  return cm;
}

TEST(EventRecorder, StopCancelsAWriteTheServerNeverAnswers) {
  kube::testing::TempDir dir;
  kube::testing::Pki pki(dir);
  uint16_t port = 0;
  const int listener = kube::testing::listen_on_loopback(port);
  kube::Config c;
  c.server = "https://127.0.0.1:" + std::to_string(port);
  c.ca_pem = pki.ca_pem();
  c.source = "test";
  kube::Client client(c);
  EventRecorder recorder(client);
  recorder.record(configmap_named("subject"), "Warning", "Test", "never answered");

  pollfd p{listener, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1) << "the recorder never connected";
  const int connection = accept(listener, nullptr, nullptr);  // its write is in flight now, unanswered
  auto stopped = std::async(std::launch::async, [&] { recorder.stop(0ms); });
  // A hang guard well below the client's 30 s timeout, not a timing requirement.
  EXPECT_EQ(stopped.wait_for(20s), std::future_status::ready) << "stop() waited on a write nobody answers";
  stopped.wait();
  EXPECT_EQ(recorder.written(), 0u);
  close(connection);
  close(listener);
}

// An API server that creates Events and counts them.
class EventsApi {
 public:
  explicit EventsApi(kube::testing::Pki& pki)
      : server_(pki, [this](const web::http::http_request& rq) { answer(rq); }) {}
  kube::Config config() const { return server_.config(); }
  int created() const { return created_; }
  void close() { server_.close(); }

 private:
  void answer(const web::http::http_request& rq) {
    using web::http::status_codes;
    if (rq.method() != web::http::methods::POST || rq.relative_uri().path().find("/events") == std::string::npos) {
      rq.reply(status_codes::MethodNotAllowed, kube::testing::status(405, "MethodNotAllowed", "only Event creates"));
      return;
    }
    const value body = rq.extract_json().get();
    created_++;
    rq.reply(status_codes::Created, body);
  }
  std::atomic<int> created_{0};
  kube::testing::FakeApiServer server_;  // last: it calls answer() until it is closed
};

class DeferredEvents : public ::testing::Test {
 protected:
  kube::testing::TempDir dir;
  kube::testing::Pki pki{dir};
  EventsApi api{pki};
  kube::Client client{api.config()};
  std::atomic<bool> work{true};  // what defer_while answers
  std::atomic<int> asked{0};     // how often the writer asked it

  EventRecorderOptions options(std::chrono::milliseconds max_delay) {
    EventRecorderOptions o;
    o.defer_while = [this] {
      ++asked;
      return work.load();
    };
    o.max_delay = max_delay;
    return o;
  }
  // Until the writer has asked twice more whether to wait: it has held the front event back at least once
  // since, so what was not written by then was held back, not yet to come.
  bool until_the_writer_held_back() {
    const int before = asked;
    return wait_until([&] { return asked >= before + 2; }, 10s);
  }

  void TearDown() override { api.close(); }  // before the client goes (see FakeApiServer::close)
};

TEST_F(DeferredEvents, WaitWhileTheControllersHaveWorkAndFollowIt) {
  EventRecorder recorder(client, options(1h));
  recorder.record(configmap_named("a"), "Normal", "Created", "created a");
  recorder.record(configmap_named("b"), "Normal", "Created", "created b");
  ASSERT_TRUE(until_the_writer_held_back());
  EXPECT_EQ(api.created(), 0) << "an event was written while the controllers had work";
  work = false;
  EXPECT_TRUE(wait_until([&] { return api.created() == 2; }, 10s)) << api.created() << " of 2 written";
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST_F(DeferredEvents, WaitAtMostTheMaximumDelay) {
  EventRecorder recorder(client, options(200ms));
  recorder.record(configmap_named("a"), "Warning", "Failed", "failed");
  EXPECT_TRUE(wait_until([&] { return api.created() == 1; }, 10s)) << "the event waited past its maximum delay";
}

TEST_F(DeferredEvents, AreWrittenWhenTheQueueIsHalfFull) {
  EventRecorderOptions o = options(1h);
  o.queue_capacity = 4;
  EventRecorder recorder(client, o);
  for (const char* name : {"a", "b", "c"}) recorder.record(configmap_named(name), "Normal", "Created", name);
  // Waiting stops at 2 queued of 4: the first two are written, the third waits.
  EXPECT_TRUE(wait_until([&] { return api.created() == 2; }, 10s)) << api.created() << " written";
  ASSERT_TRUE(until_the_writer_held_back());
  EXPECT_EQ(api.created(), 2);
  EXPECT_EQ(recorder.dropped(), 0u);
}

TEST_F(DeferredEvents, AreWrittenOnAGracefulStop) {
  EventRecorder recorder(client, options(1h));
  for (const char* name : {"a", "b", "c"}) recorder.record(configmap_named(name), "Normal", "Created", name);
  recorder.stop(10s);
  EXPECT_EQ(recorder.written(), 3u);
  EXPECT_EQ(api.created(), 3);
}

}  // namespace
}  // namespace wo::runtime
