// A leader-election candidate for the integration tests: runs a LeaderElector and prints
// "LEADING <identity>" / "STOPPED <identity>" lines; SIGTERM stops it gracefully (releasing the lease).
// Usage: lease_candidate KUBECONFIG NAMESPACE LEASE LEASE_MS RENEW_MS RETRY_MS
#include <cstdio>
#include <string>
#include <thread>

#include "kube/client.h"
#include "runtime/leader_election.h"
#include "wo/log.h"
#include "wo/process.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s KUBECONFIG NAMESPACE LEASE LEASE_MS RENEW_MS RETRY_MS\n", argv[0]);
    return 2;
  }
  wo::process::ShutdownSignal signal;
  wo::log::init({wo::log::Format::text, wo::log::Level::warn, "lease_candidate"});
  int rc = 0;
  {
    wo::kube::Client client(wo::kube::load_kubeconfig(argv[1]));
    wo::runtime::LeaderElectionConfig cfg;
    cfg.lease_namespace = argv[2];
    cfg.lease_name = argv[3];
    cfg.lease_duration = std::chrono::milliseconds(std::stoll(argv[4]));
    cfg.renew_deadline = std::chrono::milliseconds(std::stoll(argv[5]));
    cfg.retry_period = std::chrono::milliseconds(std::stoll(argv[6]));
    wo::runtime::LeaderElector* self = nullptr;
    cfg.on_started_leading = [&] {
      std::printf("LEADING %s\n", self->identity().c_str());
      std::fflush(stdout);
    };
    cfg.on_stopped_leading = [&] {
      std::printf("STOPPED %s\n", self->identity().c_str());
      std::fflush(stdout);
    };
    wo::runtime::LeaderElector elector(client, cfg);
    self = &elector;
    std::printf("CANDIDATE %s\n", elector.identity().c_str());
    std::fflush(stdout);
    std::jthread run([&](std::stop_token stop) { elector.run(stop); });
    signal.wait();
    run.request_stop();
  }
  wo::log::shutdown();
  return rc;
}
