// TLS verification against `openssl s_server` with certificates made at test time: the host must match
// a SAN (IP SAN for an IP host; the subject CN never counts), only the configured CA is trusted, and a
// client certificate is presented from memory. s_server -www answers with an HTML page, so a request
// that passed the handshake fails later with "not JSON".
#include <gtest/gtest.h>

#include "kube/client.h"
#include "support.h"

namespace wo::kube {
namespace {

using testing::Pki;
using testing::Process;
using testing::TempDir;

struct TlsServer {
  Process process;
  std::string port;
  TlsServer(const Pki& pki, const std::string& name, bool require_client_cert = false)
      : process(args(pki, name, require_client_cert)) {
    const std::string line = process.wait_for_line("ACCEPT", std::chrono::seconds(10));
    port = line.substr(line.rfind(':') + 1);
  }
  static std::vector<std::string> args(const Pki& pki, const std::string& name, bool require_client_cert) {
    std::vector<std::string> a{"openssl", "s_server",    "-accept", "127.0.0.1:0", "-cert", pki.crt(name),
                               "-key",    pki.key(name), "-www",    "-naccept",    "20"};
    if (require_client_cert) {
      a.insert(a.end(), {"-Verify", "1", "-verify_return_error", "-CAfile", pki.dir.file("ca.crt")});
    }
    return a;
  }
};

// Returns "" when the TLS handshake succeeded (the request then fails on the HTML body), else the error.
std::string try_request(Config config) {
  Client client(std::move(config));
  try {
    client.get({"", "v1", "namespaces", false, "Namespace"}, "", "default");
    return "unexpected success";
  } catch (const TransportError& e) {
    const std::string what = e.what();
    return what.find("not JSON") != std::string::npos ? "" : what;
  } catch (const ApiError& e) {
    return "";  // an HTTP answer: the handshake passed
  }
}

Config config_for(const Pki& pki, const TlsServer& server, const std::string& host = "127.0.0.1") {
  Config c;
  c.server = "https://" + host + ":" + server.port;
  c.ca_pem = pki.ca_pem();
  c.source = "test";
  return c;
}

class Tls : public ::testing::Test {
 protected:
  TempDir dir;
  Pki pki{dir};
};

TEST_F(Tls, AcceptsAMatchingIpSan) {
  pki.issue("good", "wo-server", "IP:127.0.0.1,DNS:localhost");
  TlsServer server(pki, "good");
  EXPECT_EQ(try_request(config_for(pki, server)), "");
  EXPECT_EQ(try_request(config_for(pki, server, "localhost")), "");
}

TEST_F(Tls, RefusesACertificateWhoseSansDoNotMatch) {
  pki.issue("wrong", "127.0.0.1", "DNS:wrong.example,IP:10.9.9.9");
  TlsServer server(pki, "wrong");
  const std::string err = try_request(config_for(pki, server));
  EXPECT_NE(err, "");
  EXPECT_NE(err.find("handshake"), std::string::npos) << err;
}

TEST_F(Tls, NeverFallsBackToTheCommonName) {
  pki.issue("cn-only", "127.0.0.1", "");
  TlsServer server(pki, "cn-only");
  EXPECT_NE(try_request(config_for(pki, server)), "");
}

TEST_F(Tls, TrustsOnlyTheConfiguredCa) {
  TempDir other_dir;
  Pki other(other_dir);
  other.issue("good", "wo-server", "IP:127.0.0.1");
  TlsServer server(other, "good");
  EXPECT_NE(try_request(config_for(pki, server)), "");  // our CA did not sign it
}

TEST_F(Tls, PresentsTheClientCertificateFromMemory) {
  pki.issue("good", "wo-server", "IP:127.0.0.1");
  pki.issue("client", "wo-client", "", true);
  TlsServer server(pki, "good", true);
  Config c = config_for(pki, server);
  EXPECT_NE(try_request(c), "");  // no client certificate: the server refuses
  c.client_cert_pem = testing::read_file(pki.crt("client"));
  c.client_key_pem = testing::read_file(pki.key("client"));
  EXPECT_EQ(try_request(c), "");
}

}  // namespace
}  // namespace wo::kube
