// The client's waits against a fake HTTPS API server, on a fake clock: a 429's Retry-After and the
// client-side rate limit are waited out on the client's clock (so these tests wait for nothing in real
// time), and cancelling a request's scope ends either wait at once.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "fake_api_server.h"
#include "kube/client.h"
#include "testing/fake_clock.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;
using web::http::http_request;
using web::http::status_codes;

// NOLINTNEXTLINE(cert-err58-cpp): a test constant; an exception here (only bad_alloc) aborts the test binary
const ResourceRef kNamespaces{"", "v1", "namespaces", false, "Namespace"};

class ClientWaits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new testing::TempDir();
    pki = new testing::Pki(*dir);
  }
  static void TearDownTestSuite() {
    delete pki;
    delete dir;
  }
  static testing::TempDir* dir;
  static testing::Pki* pki;

  wo::testing::FakeClock clock;
  std::atomic<int> requests{0};
  std::atomic<int> too_many{0};  // how many requests, from the first, are answered 429 Retry-After: 7
  testing::FakeApiServer server{*pki, [this](const http_request& rq) {
                                  if (requests++ < too_many) {
                                    web::http::http_response resp(status_codes::TooManyRequests);
                                    resp.headers().add("Retry-After", "7");
                                    resp.set_body(testing::status(429, "TooManyRequests", "slow down"));
                                    rq.reply(resp);
                                    return;
                                  }
                                  rq.reply(status_codes::OK, web::json::value::parse(R"({"kind":"Namespace"})"));
                                }};

  Client client(double qps = 0, int burst = 10) {
    ClientOptions o;
    o.qps = qps;
    o.burst = burst;
    o.clock = &clock;
    return {server.config(), o};
  }
  // A get on another thread, under a scope cancelled by cancel.
  std::future<std::string> get_async(Client& c, const pplx::cancellation_token& cancel) {
    return std::async(std::launch::async, [&c, cancel] {
      const RequestScope scope({.deadline = std::nullopt, .cancel = cancel});
      try {
        c.get(kNamespaces, "", "default");
        return std::string("ok");
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    });
  }
};
testing::TempDir* ClientWaits::dir = nullptr;
testing::Pki* ClientWaits::pki = nullptr;

TEST_F(ClientWaits, A429IsSentAgainAfterRetryAfterOnTheClientsClock) {
  too_many = 1;
  auto c = client();
  pplx::cancellation_token_source cts;
  auto got = get_async(c, cts.get_token());
  ASSERT_TRUE(clock.wait_for_sleepers(1));  // waiting out Retry-After
  EXPECT_EQ(requests, 1);
  clock.advance(6s);
  EXPECT_TRUE(clock.wait_for_sleepers(1)) << "stopped waiting before Retry-After";
  clock.advance(1s);
  EXPECT_EQ(got.get(), "ok");
  EXPECT_EQ(requests, 2);
}

TEST_F(ClientWaits, CancellingEndsARetryAfterWait) {
  too_many = 1;
  auto c = client();
  pplx::cancellation_token_source cts;
  auto got = get_async(c, cts.get_token());
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  cts.cancel();
  EXPECT_NE(got.get().find("Retry-After: canceled"), std::string::npos);
  EXPECT_EQ(requests, 1);
}

TEST_F(ClientWaits, TheRateLimitIsWaitedOutOnTheClientsClock) {
  auto c = client(1, 1);  // one request a second, no burst
  c.get(kNamespaces, "", "default");
  pplx::cancellation_token_source cts;
  auto got = get_async(c, cts.get_token());
  ASSERT_TRUE(clock.wait_for_sleepers(1));  // waiting for the next token
  EXPECT_EQ(requests, 1);
  clock.advance(1s);
  EXPECT_EQ(got.get(), "ok");
  EXPECT_EQ(requests, 2);
}

TEST_F(ClientWaits, CancellingEndsARateLimitWait) {
  auto c = client(1, 1);
  c.get(kNamespaces, "", "default");
  pplx::cancellation_token_source cts;
  auto got = get_async(c, cts.get_token());
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  cts.cancel();
  EXPECT_NE(got.get().find(": canceled"), std::string::npos);
  EXPECT_EQ(requests, 1);
}

}  // namespace
}  // namespace wo::kube
