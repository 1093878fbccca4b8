// Two (then three) candidate processes on one Lease in the local control plane: exactly one leads;
// kill -9 of the leader hands over after the lease expires (lease duration + up to two retry periods:
// one until the follower notices the last renewal, one until its next attempt); a graceful stop
// releases the lease and the follower takes over at its next retry.
#include <signal.h>

#include <gtest/gtest.h>

#include <iostream>

#include "cluster_env.h"
#include "kube/client.h"
#include "support.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using namespace kube::testing;

constexpr auto kLease = 6s, kRenew = 4s, kRetry = 1s;

struct Candidate {
  Process process;
  std::string identity;
  Candidate(const std::string& ns, const std::string& lease)
      : process({LEASE_CANDIDATE_BIN, test_kubeconfig_path(), ns, lease, "6000", "4000", "1000"}) {
    const std::string line = process.wait_for_line("CANDIDATE", 10s);
    identity = line.substr(line.find(' ') + 1);
  }
  bool leads_within(std::chrono::milliseconds t) {
    try {
      process.wait_for_line("LEADING", t);
      return true;
    } catch (const std::exception& e) {
      std::cerr << "candidate " << identity << ": " << e.what() << "; its output so far:\n" << process.transcript();
      return false;
    }
  }
};

std::string holder(kube::Client& c, const std::string& ns, const std::string& lease) {
  const auto l = c.get({"coordination.k8s.io", "v1", "leases", true, "Lease"}, ns, lease);
  return l.at("spec").has_field("holderIdentity") ? l.at("spec").at("holderIdentity").as_string() : "";
}

TEST(LeaderElectionIT, ExactlyOneLeadsAndHandsOver) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-le-test");
  const std::string lease = "wo-test-lease";

  Candidate a(ns.name(), lease);
  ASSERT_TRUE(a.leads_within(30s));
  Candidate b(ns.name(), lease);
  // While A renews, B stays a follower: watch several of A's renewals go by.
  EXPECT_FALSE(b.leads_within(kLease + 2 * kRetry));
  EXPECT_EQ(holder(client, ns.name(), lease), a.identity);

  // kill -9: no release; B takes over once the lease expired on its own clock.
  auto t0 = std::chrono::steady_clock::now();
  a.process.kill(SIGKILL);
  ASSERT_TRUE(b.leads_within(kLease + 3 * kRetry + 5s));
  const auto takeover = std::chrono::steady_clock::now() - t0;
  EXPECT_LE(takeover, kLease + 2 * kRetry + 2s)
      << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count() << " ms";
  EXPECT_EQ(holder(client, ns.name(), lease), b.identity);

  // Graceful stop: B releases, C takes over at its next retry, well before a lease duration.
  Candidate c(ns.name(), lease);
  EXPECT_FALSE(c.leads_within(2 * kRetry));
  t0 = std::chrono::steady_clock::now();
  kill(b.process.pid(), SIGTERM);
  b.process.wait_for_line("STOPPED", 10s);
  ASSERT_TRUE(c.leads_within(kLease + 3 * kRetry));
  const auto handover = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(handover, kLease) << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(handover).count()
                              << " ms: the lease was not released";
  EXPECT_EQ(holder(client, ns.name(), lease), c.identity);
}

}  // namespace
}  // namespace wo::runtime
