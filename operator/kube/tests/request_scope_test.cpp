// Per-request options against a server that accepts connections and never answers (a listening socket
// nobody accepts from: the kernel completes the TCP handshake, the TLS handshake then hangs): a deadline
// ends the request, a cancellation aborts it and refuses the next, and scopes nest.
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>

#include "kube/client.h"
#include "support.h"

namespace wo::kube {
namespace {

using namespace std::chrono_literals;

// NOLINTNEXTLINE(cert-err58-cpp): a test constant; an exception here (only bad_alloc) aborts the test binary
const ResourceRef kNamespaces{"", "v1", "namespaces", false, "Namespace"};

class SilentServer : public ::testing::Test {
 protected:
  testing::TempDir dir;
  testing::Pki pki{dir};
  uint16_t port = 0;
  int fd = testing::listen_on_loopback(port);
  ~SilentServer() override { close(fd); }
  Config config() const {
    Config c;
    c.server = "https://127.0.0.1:" + std::to_string(port);
    c.ca_pem = pki.ca_pem();
    c.source = "test";
    return c;
  }
  // The error a get ends with (it can only end with one: nobody answers).
  static std::string error_of(Client& client) {
    try {
      client.get(kNamespaces, "", "default");
      return "unexpected success";
    } catch (const TransportError& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not a TransportError: ") + e.what();
    }
  }
};

TEST_F(SilentServer, ADeadlineEndsTheRequest) {
  Client client(config());  // its own timeout (30 s) and retry would hold the caller for a minute
  const RequestScope bounded({.deadline = std::chrono::steady_clock::now() + 300ms});
  EXPECT_NE(error_of(client).find("no answer before the request's deadline"), std::string::npos);
}

TEST_F(SilentServer, APassedDeadlineRefusesTheRequest) {
  Client client(config());
  const RequestScope bounded({.deadline = std::chrono::steady_clock::now() - 1ms});
  EXPECT_NE(error_of(client).find("no answer before the request's deadline"), std::string::npos);
}

TEST_F(SilentServer, CancellingAbortsTheRequestAndRefusesTheNext) {
  Client client(config());
  pplx::cancellation_token_source cts;
  auto in_flight = std::async(std::launch::async, [&] {
    const RequestScope scope({.deadline = std::nullopt, .cancel = cts.get_token()});
    return error_of(client);
  });
  cts.cancel();
  EXPECT_NE(in_flight.get().find(": canceled"), std::string::npos);
  const RequestScope scope({.deadline = std::nullopt, .cancel = cts.get_token()});
  EXPECT_NE(error_of(client).find(": canceled"), std::string::npos);
}

TEST(RequestScope, NestedScopesKeepTheEarliestDeadlineAndEveryToken) {
  EXPECT_EQ(RequestScope::current(), nullptr);
  const auto soon = std::chrono::steady_clock::now() + 1s;
  pplx::cancellation_token_source outer_cts, inner_cts;
  {
    const RequestScope outer({.deadline = soon, .cancel = outer_cts.get_token()});
    {
      const RequestScope inner({.deadline = soon + 1h, .cancel = inner_cts.get_token()});
      ASSERT_NE(RequestScope::current(), nullptr);
      EXPECT_EQ(RequestScope::current()->deadline, soon);
      EXPECT_FALSE(RequestScope::current()->cancel.is_canceled());
      outer_cts.cancel();
      EXPECT_TRUE(RequestScope::current()->cancel.is_canceled());
    }
    EXPECT_EQ(RequestScope::current()->cancel, outer_cts.get_token());
  }
  EXPECT_EQ(RequestScope::current(), nullptr);
}

}  // namespace
}  // namespace wo::kube
