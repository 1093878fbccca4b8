#include "wo/health.h"

namespace wo::health {

void Checks::add_liveness(std::string name, Check check) {
  std::lock_guard lock(mu_);
  liveness_.emplace_back(std::move(name), std::move(check));
}

void Checks::add_readiness(std::string name, Check check) {
  std::lock_guard lock(mu_);
  readiness_.emplace_back(std::move(name), std::move(check));
}

std::pair<bool, std::string> Checks::live() const {
  std::lock_guard lock(mu_);
  return run(liveness_);
}

std::pair<bool, std::string> Checks::ready() const {
  std::lock_guard lock(mu_);
  return run(readiness_);
}

std::pair<bool, std::string> Checks::run(const std::vector<std::pair<std::string, Check>>& checks) {
  bool healthy = true;
  std::string body;
  for (const auto& [name, check] : checks) {
    std::string reason;
    try {
      reason = check();
    } catch (const std::exception& e) {
      reason = std::string("check threw: ") + e.what();
    }
    if (reason.empty()) {
      body.append("[+]").append(name).append(" ok\n");
    } else {
      healthy = false;
      body.append("[-]").append(name).append(" failed: ").append(reason).append("\n");
    }
  }
  body += healthy ? "ok\n" : "failed\n";
  return {healthy, body};
}

void serve_endpoints(http::Server& server, const Checks* checks, const metrics::Registry* registry) {
  if (checks != nullptr) {
    server.handle("/healthz", [checks](const http::Request&) {
      auto [ok, body] = checks->live();
      return http::Response{ok ? 200 : 503, "text/plain; charset=utf-8", std::move(body)};
    });
    server.handle("/readyz", [checks](const http::Request&) {
      auto [ok, body] = checks->ready();
      return http::Response{ok ? 200 : 503, "text/plain; charset=utf-8", std::move(body)};
    });
  }
  if (registry != nullptr) {
    server.handle("/metrics", [registry](const http::Request&) {
      return http::Response{200, "text/plain; version=0.0.4; charset=utf-8", registry->render()};
    });
  }
}

}  // namespace wo::health
