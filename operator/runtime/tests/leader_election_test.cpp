// Leader election against an in-process fake of one coordination.k8s.io/v1 Lease, on a fake clock: the
// test moves time by hand once the elector waits on its clock (FakeClock::wait_for_sleepers), so lease
// durations, retry periods and renew deadlines of seconds pass in no time and without a timing
// assertion; only the HTTP round trips to the fake take real time.
#include "runtime/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "fake_api_server.h"
#include "kube/time.h"
#include "testing/fake_clock.h"
#include "testing/wait.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using web::http::http_request;
using web::http::methods;
using web::http::status_codes;
using web::json::value;

// One Lease as the API server keeps it: GET (404 until it exists), POST (create; 409 AlreadyExists), PUT
// (409 Conflict unless it carries the current metadata.resourceVersion). Each write bumps the
// resourceVersion.
class FakeLeaseApi {
 public:
  explicit FakeLeaseApi(kube::testing::Pki& pki) : server_(pki, [this](const http_request& rq) { answer(rq); }) {}
  kube::Config config() const { return server_.config(); }
  void close() { server_.close(); }

  std::optional<value> lease() const {
    std::lock_guard lock(mu_);
    return lease_;
  }
  // Back to no Lease and no trouble, for the next test.
  void reset() {
    std::lock_guard lock(mu_);
    lease_.reset();
    writes_ = 0;
    failing_ = false;
    conflict_next_ = false;
  }
  // Another writer (another candidate, kubectl) stores spec as the Lease's.
  void write_spec(const value& spec) {
    std::lock_guard lock(mu_);
    if (!lease_) {
      lease_ = value::parse(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",)"
                            R"("metadata":{"name":"leader","namespace":"ns"}})");
    }
    (*lease_)["spec"] = spec;
    bump();
  }
  // Answers every request 500 while set (an API server in trouble).
  void set_failing(bool failing) { failing_ = failing; }
  // The next PUT finds the Lease changed by someone else (an annotation written): 409.
  void conflict_next_update() { conflict_next_ = true; }
  // The writes (creates and updates) that succeeded.
  int writes() const { return writes_; }

 private:
  void bump() { (*lease_)["metadata"]["resourceVersion"] = value::string(std::to_string(++version_)); }

  void answer(const http_request& rq) {
    if (failing_) {
      rq.reply(status_codes::InternalError, kube::testing::status(500, "InternalError", "etcd is unhappy"));
      return;
    }
    const value body = rq.method() == methods::GET ? value() : rq.extract_json().get();
    std::lock_guard lock(mu_);
    if (rq.method() == methods::GET) {
      if (!lease_) {
        rq.reply(status_codes::NotFound, kube::testing::status(404, "NotFound", "leases \"leader\" not found"));
      } else {
        rq.reply(status_codes::OK, *lease_);
      }
    } else if (rq.method() == methods::POST) {
      if (lease_) {
        rq.reply(status_codes::Conflict, kube::testing::status(409, "AlreadyExists", "leases \"leader\" exists"));
        return;
      }
      lease_ = body;
      bump();
      writes_++;
      rq.reply(status_codes::Created, *lease_);
    } else if (rq.method() == methods::PUT) {
      if (conflict_next_.exchange(false)) bump();
      if (!lease_ || kube::meta_string(body, "resourceVersion") != kube::meta_string(*lease_, "resourceVersion")) {
        rq.reply(status_codes::Conflict, kube::testing::status(409, "Conflict", "the object has been modified"));
        return;
      }
      lease_ = body;
      bump();
      writes_++;
      rq.reply(status_codes::OK, *lease_);
    } else {
      rq.reply(status_codes::MethodNotAllowed, kube::testing::status(405, "MethodNotAllowed", "not here"));
    }
  }

  mutable std::mutex mu_;
  std::optional<value> lease_;
  int version_ = 0;
  std::atomic<int> writes_{0};
  std::atomic<bool> failing_{false}, conflict_next_{false};
  kube::testing::FakeApiServer server_;  // last: it calls answer() until it is closed
};

std::string spec_of(const std::optional<value>& lease, const char* field) {
  if (!lease || !lease->has_field("spec") || !lease->at("spec").has_field(field)) return "<none>";
  const value& v = lease->at("spec").at(field);
  return v.is_string() ? v.as_string() : v.serialize();
}

class LeaderElection : public ::testing::Test {
 protected:
  // One CA, API and client (connection) for the suite: making certificates and TLS connections costs
  // more than a test. Each test starts with no Lease.
  static void SetUpTestSuite() { shared = new Shared(); }
  static void TearDownTestSuite() {
    delete shared;
    shared = nullptr;
  }
  struct Shared {
    kube::testing::TempDir dir;
    kube::testing::Pki pki{dir};
    FakeLeaseApi api{pki};
    kube::Client client{api.config()};
    ~Shared() { api.close(); }  // before the client goes (see FakeApiServer::close)
  };
  static Shared* shared;

  FakeLeaseApi& api = shared->api;
  wo::testing::FakeClock clock;
  std::atomic<int> started{0}, stopped{0};
  std::unique_ptr<LeaderElector> elector;
  std::jthread runner;  // last: stopped and joined before the elector goes

  void SetUp() override { api.reset(); }

  void start() {
    LeaderElectionConfig c;
    c.lease_namespace = "ns";
    c.lease_name = "leader";
    c.identity = "me";
    c.lease_duration = 15s;
    c.renew_deadline = 10s;
    c.retry_period = 2s;
    c.on_started_leading = [this] { started++; };
    c.on_stopped_leading = [this] { stopped++; };
    c.clock = &clock;
    elector = std::make_unique<LeaderElector>(shared->client, c);
    runner = std::jthread([this](std::stop_token stop) { elector->run(stop); });
    ASSERT_TRUE(clock.wait_for_sleepers(1)) << "the first attempt did not end";
  }
  // Moves time by d and lets the elector do what that asks of it, until it waits on the clock again.
  void step(Clock::duration d) {
    clock.advance(d);
    ASSERT_TRUE(clock.wait_for_sleepers(1)) << "the elector did not wait again";
  }
  // A Lease held by another candidate whose renewTime is an hour old in wall time: only how long the
  // candidate sees it unchanged counts, on its own clock.
  static value held_by_other(const std::string& renew_time) {
    value spec = value::object();
    spec["holderIdentity"] = value::string("other");
    spec["leaseDurationSeconds"] = value::number(15);
    spec["acquireTime"] = value::string(kube::format_micro_time(std::chrono::system_clock::now() - 2h));
    spec["renewTime"] = value::string(renew_time);
    spec["leaseTransitions"] = value::number(3);
    return spec;
  }
};
LeaderElection::Shared* LeaderElection::shared = nullptr;

TEST_F(LeaderElection, AcquiresAFreeLease) {
  start();
  EXPECT_TRUE(elector->is_leader());
  EXPECT_EQ(started, 1);
  const auto lease = api.lease();
  EXPECT_EQ(spec_of(lease, "holderIdentity"), "me");
  EXPECT_EQ(spec_of(lease, "leaseDurationSeconds"), "15");
  EXPECT_EQ(spec_of(lease, "leaseTransitions"), "0");
  EXPECT_EQ(spec_of(lease, "acquireTime"), spec_of(lease, "renewTime"));
}

TEST_F(LeaderElection, TakesOverOnlyALeaseDurationAfterTheLastRenewalItSaw) {
  api.write_spec(held_by_other(kube::format_micro_time(std::chrono::system_clock::now() - 1h)));
  start();  // t = 0: sees the record
  EXPECT_FALSE(elector->is_leader());
  EXPECT_EQ(elector->observed_leader(), "other");
  for (int i = 0; i < 7; ++i) step(2s);  // t = 14
  EXPECT_FALSE(elector->is_leader());
  // The holder renews: the lease runs for another lease duration from when the candidate sees it (t = 16).
  api.write_spec(held_by_other(kube::format_micro_time(std::chrono::system_clock::now())));
  for (int i = 0; i < 8; ++i) step(2s);  // t = 30
  EXPECT_FALSE(elector->is_leader()) << "took a lease renewed 14 s ago (of its clock) over";
  EXPECT_EQ(started, 0);
  step(2s);  // t = 32
  EXPECT_TRUE(elector->is_leader());
  EXPECT_EQ(started, 1);
  const auto lease = api.lease();
  EXPECT_EQ(spec_of(lease, "holderIdentity"), "me");
  EXPECT_EQ(spec_of(lease, "leaseTransitions"), "4");
  EXPECT_EQ(spec_of(lease, "acquireTime"), spec_of(lease, "renewTime"));
}

TEST_F(LeaderElection, RenewsEveryRetryPeriod) {
  start();
  ASSERT_EQ(api.writes(), 1);  // the create
  std::string renewed = spec_of(api.lease(), "renewTime");
  for (int i = 2; i <= 4; ++i) {
    step(1s);
    EXPECT_EQ(api.writes(), i - 1) << "renewed before the retry period";
    step(1s);
    EXPECT_EQ(api.writes(), i);
    EXPECT_NE(spec_of(api.lease(), "renewTime"), renewed);
    renewed = spec_of(api.lease(), "renewTime");
  }
  EXPECT_TRUE(elector->is_leader());
  EXPECT_EQ(spec_of(api.lease(), "leaseTransitions"), "0");
}

TEST_F(LeaderElection, ARenewalThatMeetsAConflictIsWrittenAgainOnTheFreshLease) {
  start();
  api.conflict_next_update();
  step(2s);
  EXPECT_TRUE(elector->is_leader());
  EXPECT_EQ(api.writes(), 2);  // the create, and the renewal written again after the 409
  EXPECT_EQ(spec_of(api.lease(), "holderIdentity"), "me");
}

TEST_F(LeaderElection, StopsLeadingAtTheRenewDeadlineWhenRenewalsFail) {
  start();
  api.set_failing(true);
  for (int i = 0; i < 4; ++i) step(2s);  // t = 8: four renewals failed, the deadline (t = 10) not yet passed
  EXPECT_TRUE(elector->is_leader());
  EXPECT_EQ(stopped, 0);
  clock.advance(2s);  // t = 10
  EXPECT_TRUE(wo::testing::wait_until([&] { return stopped == 1; }, 5s, 1ms)) << "still leading at the deadline";
  EXPECT_FALSE(elector->is_leader());
  runner.join();  // run() returned on its own: leadership lost, no stop needed
}

TEST_F(LeaderElection, StopsLeadingWhenAnotherCandidateHoldsTheLease) {
  start();
  api.write_spec(held_by_other(kube::format_micro_time(std::chrono::system_clock::now())));
  clock.advance(2s);
  EXPECT_TRUE(wo::testing::wait_until([&] { return stopped == 1; }, 5s, 1ms));
  EXPECT_FALSE(elector->is_leader());
  EXPECT_EQ(spec_of(api.lease(), "holderIdentity"), "other");  // lost, so not released
}

TEST_F(LeaderElection, ReleasesTheLeaseOnStop) {
  start();
  runner.request_stop();
  runner.join();
  EXPECT_EQ(stopped, 1);
  EXPECT_FALSE(elector->is_leader());
  EXPECT_EQ(spec_of(api.lease(), "holderIdentity"), "");
  EXPECT_EQ(spec_of(api.lease(), "leaseDurationSeconds"), "1");
}

TEST(LeaderElectionIdentity, IsHostnamePlusSuffix) {
  const std::string a = default_identity(), b = default_identity();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find('_'), std::string::npos);
}

}  // namespace
}  // namespace wo::runtime
