// An HTTPS server of the test's own standing in for the API server in unit tests: every request goes to
// the test's handler, which answers it (http_request::reply). Its certificate ("fake-apiserver", for
// IP 127.0.0.1) comes from the test's Pki, so a Client trusts it as it would a cluster's.
#pragma once

#include <cpprest/http_listener.h>

#include <functional>
#include <memory>
#include <string>

#include "kube/config.h"
#include "support.h"

namespace wo::kube::testing {

class FakeApiServer {
 public:
  using Handler = std::function<void(const web::http::http_request&)>;
  // Issues the server certificate with pki unless it already holds one; pki must outlive the server.
  FakeApiServer(Pki& pki, Handler handler);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Stops listening and closes its connections; idempotent (the destructor calls it). Close the server
  // before destroying a client of it: a client closing its connection first makes the server shut that
  // connection down on a pool thread, and a close() at that moment races it inside cpprest (a crash seen in
  // Reconciler.AStatusNotInTheCacheYetIsNotWrittenAgain, about once in 40 runs).
  void close();

  const std::string& url() const { return url_; }
  // A client configuration for this server: its URL and the Pki's CA.
  Config config() const;

 private:
  const Pki& pki_;
  Handler handler_;
  std::string url_;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener_;
};

// A Kubernetes Status body ({"kind":"Status",...,"code":code}) for a handler's error answers.
web::json::value status(int code, const std::string& reason, const std::string& message);

}  // namespace wo::kube::testing
