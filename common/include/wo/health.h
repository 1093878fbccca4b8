// Liveness and readiness checks behind /healthz and /readyz.
//
// A check is a named function returning an empty string when healthy, or the reason it is not.
// /healthz fails when any liveness check fails (Kubernetes then restarts the container);
// /readyz fails when any readiness check fails (the pod leaves the Service's endpoints).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "wo/http_server.h"
#include "wo/metrics.h"

namespace wo::health {

using Check = std::function<std::string()>;

class Checks {
 public:
  void add_liveness(std::string name, Check check);
  void add_readiness(std::string name, Check check);
  // Runs every check of the kind; returns (healthy, body listing "[+]name ok" / "[-]name failed: reason").
  std::pair<bool, std::string> live() const;
  std::pair<bool, std::string> ready() const;

 private:
  static std::pair<bool, std::string> run(const std::vector<std::pair<std::string, Check>>& checks);
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> liveness_, readiness_;
};

// Registers /healthz and /readyz (from checks) and /metrics (from registry) on server.
// Either pointer may be null to leave its endpoints out.
void serve_endpoints(http::Server& server, const Checks* checks, const metrics::Registry* registry);

}  // namespace wo::health
