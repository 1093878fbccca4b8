// The event recorder and the manager against the local control plane.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cluster_env.h"
#include "kube/time.h"
#include "runtime/event_recorder.h"
#include "runtime/manager.h"
#include "support.h"
#include "tcp_proxy.h"
#include "testing/wait.h"
#include "wo/health.h"
#include "wo/metrics.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using namespace kube::testing;
using web::json::value;
using wo::testing::wait_until;

TEST(EventRecorderIT, RepeatsAggregateIntoOneEvent) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-events-test");
  const value cm = client.create(kConfigMaps, ns.name(), configmap("subject", "events"));
  EventRecorder recorder(client);
  for (int i = 0; i < 3; ++i) recorder.record(cm, "Warning", "SyncFailed", "the same failure");
  recorder.record(cm, "Normal", "Synced", "a different event");
  recorder.stop();
  EXPECT_EQ(recorder.dropped(), 0u);
  EXPECT_EQ(recorder.written(), 4u);

  kube::ListOptions o;
  o.field_selector = "involvedObject.name=subject";
  const value events = client.list({"", "v1", "events", true, "Event"}, ns.name(), o);
  ASSERT_EQ(events.at("items").size(), 2u) << events.serialize();
  std::map<std::string, int> counts;
  for (const auto& e : events.at("items").as_array()) {
    counts[e.at("reason").as_string()] = e.at("count").as_integer();
    EXPECT_EQ(e.at("involvedObject").at("uid").as_string(), kube::meta_string(cm, "uid"));
  }
  EXPECT_EQ(counts["SyncFailed"], 3);
  EXPECT_EQ(counts["Synced"], 1);
}

TEST(EventRecorderIT, PerObjectRateLimitDropsAFlood) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-events-test");
  const value cm = client.create(kConfigMaps, ns.name(), configmap("flood", "events"));
  EventRecorderOptions o;
  o.per_object_burst = 5;
  EventRecorder recorder(client, o);
  for (int i = 0; i < 50; ++i) recorder.record(cm, "Warning", "Failed", "attempt " + std::to_string(i));
  recorder.stop();
  EXPECT_EQ(recorder.written(), 5u);
  EXPECT_EQ(recorder.dropped(), 45u);
}

class CountingReconciler : public Reconciler {
 public:
  const kube::Store* store = nullptr;  // the informer's, to tell deletions apart
  Result reconcile(const Request& r, std::stop_token) override {
    std::lock_guard lock(mu);
    calls[r.key()]++;
    if (store != nullptr && !store->get(r.key())) deleted.insert(r.key());
    return {};
  }
  int count(const std::string& key) {
    std::lock_guard lock(mu);
    return calls[key];
  }
  bool saw_deleted(const std::string& key) {
    std::lock_guard lock(mu);
    return deleted.count(key) != 0;
  }
  std::mutex mu;
  std::map<std::string, int> calls;
  std::set<std::string> deleted;
};

// A manager with one controller reconciling the ConfigMaps of a namespace (label wo-test=<label>).
struct ConfigMapManager {
  CountingReconciler rec;
  Manager manager;
  kube::Informer* informer = nullptr;
  ConfigMapManager(kube::Client& client, ManagerOptions options, const std::string& ns, const std::string& label)
      : manager(client, std::move(options)) {
    kube::ReflectorOptions ro;
    ro.resource = kConfigMaps;
    ro.namespace_ = ns;
    ro.label_selector = "wo-test=" + label;
    informer = &manager.add_informer(ro);
    rec.store = &informer->store();
    ControllerOptions co;
    co.name = "configmaps";
    manager.add_controller(std::move(co), rec).watch_for(*informer);
  }
};

// Runs a manager on a thread of its own; stop() (or the destructor) stops it, joins, and rethrows what
// run() threw.
class ManagerThread {
 public:
  explicit ManagerThread(Manager& manager)
      : thread_([this, &manager] {
          try {
            manager.run(stop_.get_token());
          } catch (...) {
            failure_ = std::current_exception();
          }
        }) {}
  ~ManagerThread() {
    if (thread_.joinable()) {
      stop_.request_stop();
      thread_.join();
    }
  }
  ManagerThread(const ManagerThread&) = delete;
  ManagerThread& operator=(const ManagerThread&) = delete;
  void stop() {
    stop_.request_stop();
    thread_.join();
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::stop_source stop_;
  std::exception_ptr failure_;
  std::thread thread_;  // last: started once the rest exists
};

TEST(ManagerIT, ReconcilesWhileLeadingAndReleasesOnStop) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-manager-test");
  metrics::Registry registry;
  health::Checks checks;
  ManagerOptions mo;
  mo.metrics = &registry;
  mo.health = &checks;
  LeaderElectionConfig le;
  le.lease_namespace = ns.name();
  le.lease_name = "wo-manager-test";
  mo.leader_election = le;
  ConfigMapManager cm(client, mo, ns.name(), "manager");
  Manager& manager = cm.manager;
  CountingReconciler& rec = cm.rec;

  EXPECT_FALSE(checks.ready().first);
  client.create(kConfigMaps, ns.name(), configmap("one", "manager"));
  ManagerThread running(manager);
  ASSERT_TRUE(wait_until([&] { return rec.count(ns.name() + "/one") >= 1; }, 60s));
  EXPECT_TRUE(checks.ready().first) << checks.ready().second;
  EXPECT_TRUE(manager.is_leader());
  client.create(kConfigMaps, ns.name(), configmap("two", "manager"));
  client.remove(kConfigMaps, ns.name(), "one");
  ASSERT_TRUE(
      wait_until([&] { return rec.count(ns.name() + "/two") >= 1 && rec.saw_deleted(ns.name() + "/one"); }, 30s));

  running.stop();
  const auto lease = client.get({"coordination.k8s.io", "v1", "leases", true, "Lease"}, ns.name(), "wo-manager-test");
  EXPECT_EQ(lease.at("spec").at("holderIdentity").as_string(), "") << "released on graceful stop";
  const std::string text = registry.render();
  EXPECT_NE(text.find("leader_election_master_status{name=\"wo-manager-test\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("controller_runtime_reconcile_total{controller=\"configmaps\",result=\"success\"}"),
            std::string::npos)
      << text;
}

// Records an Event on each object it reconciles, then holds the reconcile until released.
class RecordingReconciler : public Reconciler {
 public:
  const kube::Store* store = nullptr;
  EventRecorder* events = nullptr;
  std::atomic<bool> open{false};
  std::atomic<int> entered{0};
  Result reconcile(const Request& r, std::stop_token stop) override {
    if (auto object = store->get(r.key())) events->record(*object, "Normal", "Reconciled", "reconciled " + r.name);
    ++entered;
    while (!open && !stop.stop_requested()) std::this_thread::sleep_for(10ms);
    return {};
  }
};

// The operator's wiring (operator/main.cpp): an Event recorded in a reconcile reaches the API server
// after the controllers' work, not during it.
TEST(ManagerIT, EventsFollowTheControllersWork) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-manager-test");
  client.create(kConfigMaps, ns.name(), configmap("subject", "deferred"));
  Manager manager(client, {});
  kube::ReflectorOptions ro;
  ro.resource = kConfigMaps;
  ro.namespace_ = ns.name();
  ro.label_selector = "wo-test=deferred";
  kube::Informer& informer = manager.add_informer(ro);
  RecordingReconciler rec;
  rec.store = &informer.store();
  ControllerOptions co;
  co.name = "recording";
  manager.add_controller(std::move(co), rec).watch_for(informer);
  EventRecorderOptions eo;
  std::atomic<int> asked{0};  // how often the writer asked whether to hold events back
  eo.defer_while = [&manager, &asked] {
    ++asked;
    return manager.controllers_have_work();
  };
  EventRecorder events(client, eo);
  rec.events = &events;

  ManagerThread running(manager);
  kube::ListOptions lo;
  lo.field_selector = "involvedObject.name=subject";
  const auto listed = [&] {
    return client.list({"", "v1", "events", true, "Event"}, ns.name(), lo).at("items").size();
  };
  ASSERT_TRUE(wait_until([&] { return rec.entered == 1; }, 60s)) << "the ConfigMap was not reconciled";
  // Asked twice: the writer has held the Event back at least once since (a writer that does not hold it
  // back writes it and stops asking).
  EXPECT_TRUE(wait_until([&] { return asked >= 2; }, 10s)) << "the writer did not hold the Event back";
  EXPECT_EQ(listed(), 0u) << "the Event was written while its reconcile ran";
  rec.open = true;
  EXPECT_TRUE(wait_until([&] { return listed() == 1; }, 30s)) << "the Event was not written after the reconcile";
  running.stop();
  EXPECT_EQ(events.dropped(), 0u);
}

// Idle for 60 s, a leading manager writes nothing but lease renewals (counted by the client's
// rest_client_requests_total: every write verb other than "update" stays at zero; the updates are the
// Lease PUTs, one per retry period).
TEST(ManagerIT, IdleWritesAreOnlyLeaseRenewals) {
  metrics::Registry registry;
  kube::ClientOptions o;
  o.metrics = &registry;
  kube::Client client(test_cluster_config(), o);
  kube::Client admin(test_cluster_config());
  TestNamespace ns(admin, "wo-idle-test");
  admin.create(kConfigMaps, ns.name(), configmap("present", "idle"));
  ManagerOptions mo;
  LeaderElectionConfig le;
  le.lease_namespace = ns.name();
  le.lease_name = "wo-idle-test";
  mo.leader_election = le;
  ConfigMapManager cm(client, mo, ns.name(), "idle");
  Manager& manager = cm.manager;
  CountingReconciler& rec = cm.rec;
  std::stop_source stop;
  std::thread runner([&] {
    try {
      manager.run(stop.get_token());
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  });
  ASSERT_TRUE(wait_until([&] { return rec.count(ns.name() + "/present") >= 1 && manager.is_leader(); }, 60s));
  auto writes = [&] {
    std::map<std::string, double> by_verb;
    auto& family = registry.counter("rest_client_requests_total", "", {"verb", "resource", "code"});
    family.for_each(
        [&](const std::vector<std::string>& labels, const metrics::Counter& c) { by_verb[labels[0]] += c.value(); });
    return by_verb;
  };
  const auto before = writes();
  const auto idle_until = std::chrono::steady_clock::now() + 60s;
  wait_until([&] { return std::chrono::steady_clock::now() >= idle_until; }, 61s, 1s);  // the idle period itself
  const auto after = writes();
  stop.request_stop();
  runner.join();
  auto delta = [&](const std::string& verb) {
    auto b = before.find(verb);
    auto a = after.find(verb);
    return (a == after.end() ? 0.0 : a->second) - (b == before.end() ? 0.0 : b->second);
  };
  for (const char* verb : {"create", "patch", "apply", "delete"}) EXPECT_EQ(delta(verb), 0.0) << verb;
  EXPECT_GE(delta("update"), 20.0);  // ~30 renewals at the 2 s retry period
  EXPECT_LE(delta("update"), 35.0);
}

// Leader election with short timings (lease 6 s, renew deadline 4 s, retry 1 s), so that losses and
// takeovers happen within seconds.
LeaderElectionConfig short_lease(const std::string& ns, const std::string& name) {
  LeaderElectionConfig le;
  le.lease_namespace = ns;
  le.lease_name = name;
  le.lease_duration = 6s;
  le.renew_deadline = 4s;
  le.retry_period = 1s;
  return le;
}

// Another holder takes the Lease (as after this replica was partitioned away): the manager stops its
// controllers and run() throws LeadershipLost, so the binary exits instead of reconciling on.
TEST(ManagerIT, LosingTheLeaseStopsReconciling) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-lost-test");
  ManagerOptions mo;
  mo.leader_election = short_lease(ns.name(), "wo-lost-test");
  ConfigMapManager cm(client, mo, ns.name(), "lost");
  client.create(kConfigMaps, ns.name(), configmap("a", "lost"));
  std::stop_source stop;
  std::atomic<bool> lost{false}, returned{false};
  std::thread runner([&] {
    try {
      cm.manager.run(stop.get_token());
    } catch (const LeadershipLost&) {
      lost = true;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    returned = true;
  });
  ASSERT_TRUE(wait_until([&] { return cm.rec.count(ns.name() + "/a") >= 1 && cm.manager.is_leader(); }, 60s));

  const kube::ResourceRef leases{"coordination.k8s.io", "v1", "leases", true, "Lease"};
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          value lease = client.get(leases, ns.name(), "wo-lost-test");
          lease["spec"]["holderIdentity"] = value::string("thief");
          lease["spec"]["leaseDurationSeconds"] = value::number(600);
          lease["spec"]["renewTime"] = value::string(kube::format_micro_time(std::chrono::system_clock::now()));
          client.update(leases, ns.name(), lease);
          return true;
        } catch (const kube::ApiError&) {
          return false;  // raced with a renewal (409): try again
        }
      },
      30s));
  ASSERT_TRUE(wait_until([&] { return returned.load(); }, 30s));
  runner.join();
  EXPECT_TRUE(lost.load());
  EXPECT_FALSE(cm.manager.is_leader());
  const int before = cm.rec.count(ns.name() + "/a");
  client.apply(kConfigMaps, ns.name(), "a", configmap("a", "lost", "changed"), "wo-test");
  client.create(kConfigMaps, ns.name(), configmap("b", "lost"));
  EXPECT_EQ(cm.rec.count(ns.name() + "/a"), before);  // workers and informers are stopped: nothing can run
  EXPECT_EQ(cm.rec.count(ns.name() + "/b"), 0);
}

// A reconciler that writes its object on every pass and asks to run again soon: a leader that keeps
// writing for as long as it runs.
class WritingReconciler : public Reconciler {
 public:
  WritingReconciler(kube::Client& client, std::string identity) : client_(client), identity_(std::move(identity)) {}
  Result reconcile(const Request& r, std::stop_token) override {
    value patch = value::object();
    patch["metadata"]["annotations"]["wo-test/writer"] = value::string(identity_);
    client_.merge_patch(kConfigMaps, r.namespace_, r.name, patch);
    passes_++;
    return {.requeue_after = 200ms};
  }
  int passes() const { return passes_.load(); }

 private:
  kube::Client& client_;
  std::string identity_;
  std::atomic<int> passes_{0};
};

// A replica: a manager with leader election whose controller writes the ConfigMaps labelled wo-test=<label>,
// run on a thread of its own; records how run() ended.
struct WritingReplica {
  WritingReconciler rec;
  Manager manager;
  std::stop_source stop;
  std::atomic<bool> returned{false}, lost{false};
  std::string failure;
  std::thread runner;
  WritingReplica(kube::Client& client, const LeaderElectionConfig& le, const std::string& ns, const std::string& label)
      : rec(client, le.identity), manager(client, options(le)) {
    kube::ReflectorOptions ro;
    ro.resource = kConfigMaps;
    ro.namespace_ = ns;
    ro.label_selector = "wo-test=" + label;
    ControllerOptions co;
    co.name = "writer";
    manager.add_controller(std::move(co), rec).watch_for(manager.add_informer(ro));
    runner = std::thread([this] {
      try {
        manager.run(stop.get_token());
      } catch (const LeadershipLost&) {
        lost = true;
      } catch (const std::exception& e) {
        failure = e.what();
      }
      returned = true;
    });
  }
  ~WritingReplica() {
    stop.request_stop();
    runner.join();
  }
  static ManagerOptions options(const LeaderElectionConfig& le) {
    ManagerOptions o;
    o.leader_election = le;
    return o;
  }
};

// Requests that change something, counted by the client's rest_client_requests_total (any resource, any
// code: a request that got no answer may still have been carried out by the server).
double writes(metrics::Registry& registry) {
  double n = 0;
  registry.counter("rest_client_requests_total", "", {"verb", "resource", "code"})
      .for_each([&](const std::vector<std::string>& labels, const metrics::Counter& c) {
        if (labels[0] != "get" && labels[0] != "list" && labels[0] != "watch") n += c.value();
      });
  return n;
}

// The leader's connection to the API server hangs (a proxy that accepts and never answers, as in a
// partition) while it keeps writing. It must stop everything by its renew deadline, before another
// replica can take the Lease (lease duration after the last renewal): when the second replica leads,
// the old one's run() has already thrown LeadershipLost and none of its requests ends afterwards.
TEST(ManagerIT, AStalledLeaderStopsWritingBeforeAnotherReplicaLeads) {
  kube::Client admin(test_cluster_config());
  TestNamespace ns(admin, "wo-stall-test");
  admin.create(kConfigMaps, ns.name(), configmap("target", "stall"));
  TcpProxy proxy(static_cast<uint16_t>(std::stoi(admin.config().server.substr(admin.config().server.rfind(':') + 1))));
  kube::Config via_proxy = test_cluster_config();
  via_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  metrics::Registry old_metrics;
  kube::ClientOptions old_options;
  old_options.metrics = &old_metrics;
  kube::Client old_client(via_proxy, old_options);
  kube::Client new_client(test_cluster_config());

  LeaderElectionConfig le = short_lease(ns.name(), "wo-stall-test");
  le.identity = "old-leader";
  WritingReplica old_leader(old_client, le, ns.name(), "stall");
  ASSERT_TRUE(wait_until([&] { return old_leader.manager.is_leader() && old_leader.rec.passes() >= 2; }, 60s))
      << old_leader.failure;
  le.identity = "new-leader";
  WritingReplica new_leader(new_client, le, ns.name(), "stall");
  ASSERT_TRUE(wait_until([&] { return new_leader.manager.caches_synced(); }, 60s)) << new_leader.failure;

  proxy.set_stalled(true);
  ASSERT_TRUE(wait_until([&] { return new_leader.manager.is_leader(); }, 60s)) << new_leader.failure;
  const bool old_stopped_before_takeover = old_leader.returned.load();
  const double old_writes_at_takeover = writes(old_metrics);
  EXPECT_TRUE(old_stopped_before_takeover) << "the old leader was still running when another replica took the Lease";
  ASSERT_TRUE(wait_until([&] { return old_leader.returned.load(); }, 150s));
  EXPECT_TRUE(old_leader.lost.load()) << old_leader.failure;
  EXPECT_FALSE(old_leader.manager.is_leader());
  EXPECT_EQ(writes(old_metrics), old_writes_at_takeover)
      << "the old leader's write requests went on after another replica took the Lease";
  const int old_passes = old_leader.rec.passes();
  ASSERT_TRUE(wait_until([&] { return new_leader.rec.passes() >= 3; }, 30s)) << new_leader.failure;
  EXPECT_EQ(old_leader.rec.passes(), old_passes);
  const auto lease = admin.get({"coordination.k8s.io", "v1", "leases", true, "Lease"}, ns.name(), "wo-stall-test");
  EXPECT_EQ(lease.at("spec").at("holderIdentity").as_string(), "new-leader");
  const auto cm = admin.get(kConfigMaps, ns.name(), "target");
  EXPECT_EQ(cm.at("metadata").at("annotations").at("wo-test/writer").as_string(), "new-leader");
}

// The error of run() when an informer cannot sync. What did not sync, and why.
std::string sync_error(kube::Client& client, const kube::ResourceRef& resource, const std::string& ns) {
  ManagerOptions mo;
  mo.cache_sync_timeout = 3s;
  Manager manager(client, mo);
  kube::ReflectorOptions ro;
  ro.resource = resource;
  ro.namespace_ = ns;
  manager.add_informer(ro);
  try {
    std::stop_source stop;
    manager.run(stop.get_token());
  } catch (const std::exception& e) {
    return e.what();
  }
  return "run() returned without an error";
}

// A resource the API server does not serve (no CustomResourceDefinition): the sync failure says 404 and
// what to check, not only that the cache did not sync.
TEST(ManagerIT, AMissingResourceSaysNotFoundAndWhatToCheck) {
  kube::Client client(test_cluster_config());
  TestNamespace ns(client, "wo-sync-test");
  const std::string error =
      sync_error(client, {"wo-test.worker.dev", "v1", "nonexistents", true, "Nonexistent"}, ns.name());
  EXPECT_NE(error.find("wo-test.worker.dev/v1 nonexistents"), std::string::npos) << error;
  EXPECT_NE(error.find("404"), std::string::npos) << error;
  EXPECT_NE(error.find("CustomResourceDefinition installed?"), std::string::npos) << error;
}

// A service account without any RBAC: the sync failure says 403 and points at the RBAC manifest.
TEST(ManagerIT, AForbiddenListSaysForbiddenAndWhatToCheck) {
  kube::Client admin(test_cluster_config());
  TestNamespace ns(admin, "wo-sync-test");
  value sa = value::object();
  sa["apiVersion"] = value::string("v1");
  sa["kind"] = value::string("ServiceAccount");
  sa["metadata"]["name"] = value::string("no-rights");
  admin.create({"", "v1", "serviceaccounts", true, "ServiceAccount"}, ns.name(), sa);
  value request = value::object();
  request["apiVersion"] = value::string("authentication.k8s.io/v1");
  request["kind"] = value::string("TokenRequest");
  request["spec"]["expirationSeconds"] = value::number(600);
  const value token =
      admin.create({"", "v1", "serviceaccounts/no-rights/token", true, "TokenRequest"}, ns.name(), request);
  kube::Config as_sa = test_cluster_config();
  as_sa.client_cert_pem.clear();
  as_sa.client_key_pem.clear();
  as_sa.token = kube::TokenSource::fixed(token.at("status").at("token").as_string());
  kube::Client client(as_sa);
  const std::string error = sync_error(client, kConfigMaps, ns.name());
  EXPECT_NE(error.find("v1 configmaps"), std::string::npos) << error;
  EXPECT_NE(error.find("403"), std::string::npos) << error;
  EXPECT_NE(error.find("manifests/rbac.yaml"), std::string::npos) << error;
}

}  // namespace
}  // namespace wo::runtime
