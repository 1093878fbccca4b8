// Two (then three) candidate processes on one Lease in the local control plane: exactly one leads;
// kill -9 of the leader hands over after the lease expires (lease duration + up to two retry periods:
// one until the follower notices the last renewal, one until its next attempt); a graceful stop
// releases the lease and the follower takes over at its next retry.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cluster_env.h"
#include "kube/client.h"
#include "runtime/leader_election.h"
#include "support.h"
#include "testing/wait.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using namespace kube::testing;
using wo::testing::wait_until;

constexpr auto kLease = 6s, kRenew = 4s, kRetry = 1s;

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

struct Candidate {
  Process process;
  std::string identity;
  Candidate(const std::string& ns, const std::string& lease)
      : process(
            {LEASE_CANDIDATE_BIN, test_kubeconfig_path(), ns, lease, millis(kLease), millis(kRenew), millis(kRetry)}) {
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

// Someone else keeps writing the Lease without taking it (an annotation, as kubectl annotate would): the
// leader's renewals get 409s and must read the Lease again and write once more within the renew
// deadline, not give leadership up. Watched for a bounded window of many renewals.
TEST(LeaderElectionIT, OtherWritesToTheLeaseDoNotEndLeadership) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-le-test");
  LeaderElectionConfig le;
  le.lease_namespace = ns.name();
  le.lease_name = "wo-conflict-lease";
  le.lease_duration = 3s;
  le.renew_deadline = 2s;
  le.retry_period = 200ms;  // many renewals in the window, each racing the other writer
  std::atomic<int> stopped_leading{0};
  le.on_stopped_leading = [&] { stopped_leading++; };
  LeaderElector elector(client, le);
  std::jthread campaign([&](std::stop_token stop) { elector.run(stop); });
  ASSERT_TRUE(wait_until([&] { return elector.is_leader(); }, 30s));

  const kube::ResourceRef leases{"coordination.k8s.io", "v1", "leases", true, "Lease"};
  kube::Client other(test_cluster_config());
  int pokes = 0, conflicts = 0;
  const auto until = std::chrono::steady_clock::now() + 8s;
  while (std::chrono::steady_clock::now() < until && stopped_leading.load() == 0) {
    web::json::value lease = other.get(leases, ns.name(), le.lease_name);
    lease["metadata"]["annotations"]["wo-test/poke"] = web::json::value::string(std::to_string(pokes));
    try {
      other.update(leases, ns.name(), lease);
      pokes++;
    } catch (const kube::ApiError& e) {
      if (!e.is_conflict()) throw;
      conflicts++;  // raced with a renewal: that one won
    }
  }
  EXPECT_EQ(stopped_leading.load(), 0) << "leadership ended after " << pokes << " writes by another client";
  EXPECT_TRUE(elector.is_leader());
  EXPECT_GT(pokes, 100);
  RecordProperty("other_writes", pokes);
  RecordProperty("other_conflicts", conflicts);
  // The release too reads the Lease again after a 409 (the last writes were the other client's).
  campaign.request_stop();
  campaign.join();
  EXPECT_EQ(holder(client, ns.name(), le.lease_name), "") << "released on stop";
}

}  // namespace
}  // namespace wo::runtime
