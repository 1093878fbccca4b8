#include "fake_api_server.h"

#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <filesystem>

namespace wo::kube::testing {

namespace {
constexpr const char* kCertificate = "fake-apiserver";
}

FakeApiServer::FakeApiServer(Pki& pki, Handler handler) : pki_(pki), handler_(std::move(handler)) {
  if (!std::filesystem::exists(pki.crt(kCertificate))) pki.issue(kCertificate, kCertificate, "IP:127.0.0.1");
  uint16_t port = 0;
  ::close(listen_on_loopback(port));  // a free port (the listener binds it again)
  url_ = "https://127.0.0.1:" + std::to_string(port);
  web::http::experimental::listener::http_listener_config cfg;
  const std::string crt = pki.crt(kCertificate), key = pki.key(kCertificate);
  cfg.set_ssl_context_callback([crt, key](boost::asio::ssl::context& ctx) {
    ctx.use_certificate_chain_file(crt);
    ctx.use_private_key_file(key, boost::asio::ssl::context::pem);
  });
  listener_ = std::make_unique<web::http::experimental::listener::http_listener>(url_, cfg);
  listener_->support([this](const web::http::http_request& rq) { handler_(rq); });
  listener_->open().wait();
}

FakeApiServer::~FakeApiServer() {
  close();
}

void FakeApiServer::close() {
  if (listener_) listener_->close().wait();
  listener_.reset();
}

Config FakeApiServer::config() const {
  Config c;
  c.server = url_;
  c.ca_pem = pki_.ca_pem();
  c.source = "test";
  return c;
}

web::json::value status(int code, const std::string& reason, const std::string& message) {
  web::json::value s = web::json::value::object();
  s["kind"] = web::json::value::string("Status");
  s["apiVersion"] = web::json::value::string("v1");
  s["status"] = web::json::value::string("Failure");
  s["reason"] = web::json::value::string(reason);
  s["message"] = web::json::value::string(message);
  s["code"] = web::json::value::number(code);
  return s;
}

}  // namespace wo::kube::testing
