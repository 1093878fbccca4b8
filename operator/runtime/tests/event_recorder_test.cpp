// The event recorder's stop against an API server that accepts a connection and never answers: a write
// in flight is cancelled, so stop() does not wait for the client's timeout (and, with 0 after leadership
// was lost, nothing more is written).
#include "runtime/event_recorder.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "support.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;

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
  web::json::value cm = web::json::value::object();
  cm["apiVersion"] = web::json::value::string("v1");
  cm["kind"] = web::json::value::string("ConfigMap");
  cm["metadata"]["name"] = web::json::value::string("subject");
  cm["metadata"]["namespace"] = web::json::value::string("default");
  recorder.record(cm, "Warning", "Test", "never answered");

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

}  // namespace
}  // namespace wo::runtime
