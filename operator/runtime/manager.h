// The manager ties informers, controllers and leader election together, like controller-runtime's:
// 1. informers start at once on every replica (a standby keeps warm caches) and must sync within
//    cache_sync_timeout; readiness (/readyz) is "every informer has synced";
// 2. with leader election on, controllers start only once this replica leads; without it, at once;
// 3. on stop: controllers stop first (the reconciles' API requests are cancelled, in-flight reconciles
//    return), then the Lease is released (the next replica takes over at once), then informers stop;
// 4. if leadership is lost (at the renew deadline at the latest: the elector's requests are bounded by
//    it), the reconciles' requests are cancelled at once, controllers stop and run() throws
//    LeadershipLost: the binary must exit (non-zero) so Kubernetes restarts it as a fresh candidate;
//    never keep reconciling.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "kube/informer.h"
#include "runtime/controller.h"
#include "runtime/leader_election.h"

namespace wo::health {
class Checks;
}

namespace wo::runtime {

class LeadershipLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ManagerOptions {
  std::optional<LeaderElectionConfig> leader_election;  // unset: no election, this replica always reconciles
  std::chrono::milliseconds cache_sync_timeout{std::chrono::minutes(2)};
  metrics::Registry* metrics = nullptr;  // handed to controllers and the elector
  health::Checks* health = nullptr;      // a readiness check "informers-synced" is added
};

// The error of an informer that did not sync in time: which resource, and its last list/watch error
// with a hint ("... 404 NotFound: ... (is the resource's CustomResourceDefinition installed?)").
std::string sync_failure(const kube::Informer& informer, std::chrono::milliseconds timeout);

class Manager {
 public:
  Manager(kube::Client& client, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Creates an informer (configure handlers and indexes before run()); namespaces: see kube::Informer.
  kube::Informer& add_informer(const kube::ReflectorOptions& options, std::vector<std::string> namespaces = {});
  // Creates a controller for reconciler (which must outlive the manager). options.metrics defaults to the manager's.
  Controller& add_controller(ControllerOptions options, Reconciler& reconciler);

  // Blocks until stop is requested (returns) or something fatal happens (throws: caches did not sync,
  // LeadershipLost).
  void run(std::stop_token stop);

  bool caches_synced() const;
  bool is_leader() const;
  // Whether a controller has keys waiting or being reconciled (see Controller::has_work). Safe from any
  // thread once the controllers are added.
  bool controllers_have_work() const;

 private:
  void start_controllers();
  void cancel_controller_requests();
  void stop_controllers();
  void stop_informers();

  kube::Client& client_;
  ManagerOptions options_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::mutex mu_;
  bool controllers_started_ = false;
  std::unique_ptr<LeaderElector> elector_;
};

}  // namespace wo::runtime
