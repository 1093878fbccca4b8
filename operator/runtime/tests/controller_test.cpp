// The reconcile outcomes table (controller.h) on a controller fed through its queue.
#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "support.h"
#include "testing/wait.h"
#include "wo/metrics.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using wo::testing::wait_until;

class ScriptedReconciler : public Reconciler {
 public:
  // For each key, the outcomes of successive calls: "ok", "error", "terminal", "requeue", "after".
  std::map<std::string, std::vector<std::string>> script;
  std::mutex mu;
  std::map<std::string, int> calls;
  std::atomic<int> concurrent{0}, max_concurrent{0};

  Result reconcile(const Request& r, std::stop_token) override {
    const int now = ++concurrent;
    int seen = max_concurrent.load();
    while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
    }
    std::string outcome = "ok";
    {
      std::lock_guard lock(mu);
      const int n = calls[r.key()]++;
      auto& s = script[r.key()];
      if (n < static_cast<int>(s.size())) outcome = s[static_cast<size_t>(n)];
    }
    --concurrent;
    if (outcome == "error") throw std::runtime_error("boom");
    if (outcome == "terminal") throw TerminalError("bad spec");
    if (outcome == "requeue") return {0ms, true};
    if (outcome == "after") return {10ms, false};
    return {};
  }
  int count(const std::string& key) {
    std::lock_guard lock(mu);
    return calls[key];
  }
};

TEST(Request, FromKey) {
  EXPECT_EQ(Request::from_key("ns/a").namespace_, "ns");
  EXPECT_EQ(Request::from_key("ns/a").name, "a");
  EXPECT_EQ(Request::from_key("cluster-scoped").namespace_, "");
  EXPECT_EQ((Request{"ns", "a"}).key(), "ns/a");
}

TEST(Controller, OutcomesFollowControllerRuntime) {
  metrics::Registry registry;
  ScriptedReconciler rec;
  rec.script["ns/retry"] = {"error", "error", "ok"};
  rec.script["ns/terminal"] = {"terminal"};
  rec.script["ns/requeue"] = {"requeue", "ok"};
  rec.script["ns/after"] = {"after", "ok"};
  ControllerOptions o;
  o.name = "test";
  o.max_concurrent_reconciles = 2;
  o.metrics = &registry;
  Controller c(std::move(o), rec);
  c.start();
  for (const char* k : {"ns/retry", "ns/terminal", "ns/requeue", "ns/after", "ns/ok"}) c.queue().add(k);
  ASSERT_TRUE(wait_until(
      [&] {
        return rec.count("ns/retry") == 3 && rec.count("ns/requeue") == 2 && rec.count("ns/after") == 2 &&
               rec.count("ns/ok") == 1 && rec.count("ns/terminal") == 1;
      },
      10s));
  EXPECT_EQ(c.queue().num_requeues("ns/retry"), 0);  // forgotten after the success
  c.stop();
  EXPECT_EQ(rec.count("ns/terminal"), 1);  // never retried
  const std::string text = registry.render();
  for (const std::string line : {"controller_runtime_reconcile_total{controller=\"test\",result=\"error\"} 3",
                                 "controller_runtime_reconcile_total{controller=\"test\",result=\"requeue\"} 1",
                                 "controller_runtime_reconcile_total{controller=\"test\",result=\"requeue_after\"} 1",
                                 "controller_runtime_reconcile_total{controller=\"test\",result=\"success\"} 4",
                                 "controller_runtime_terminal_reconcile_errors_total{controller=\"test\"} 1"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_NE(text.find("controller_runtime_reconcile_time_seconds_count{controller=\"test\"} 9"), std::string::npos)
      << text;
}

TEST(Controller, OneKeyNeverReconciledConcurrently) {
  ScriptedReconciler rec;
  ControllerOptions o;
  o.name = "single";
  o.max_concurrent_reconciles = 4;
  Controller c(std::move(o), rec);
  c.start();
  for (int i = 0; i < 500; ++i) c.queue().add("ns/same");
  ASSERT_TRUE(wait_until(
      [&] { return rec.count("ns/same") >= 1 && c.queue().len() == 0 && c.queue().processing() == 0; }, 10s));
  c.stop();
  EXPECT_EQ(rec.max_concurrent.load(), 1);
}

// A reconciler that holds each reconcile until released.
class GatedReconciler : public Reconciler {
 public:
  std::atomic<bool> open{false};
  std::atomic<int> entered{0};
  Result reconcile(const Request&, std::stop_token stop) override {
    ++entered;
    while (!open && !stop.stop_requested()) std::this_thread::sleep_for(1ms);
    return {};
  }
};

TEST(Controller, HasWorkWhileKeysWaitOrAreReconciled) {
  GatedReconciler rec;
  ControllerOptions o;
  o.name = "gated";
  Controller c(std::move(o), rec);
  EXPECT_FALSE(c.has_work());
  c.queue().add_after("ns/later", std::chrono::hours(1));
  EXPECT_FALSE(c.has_work()) << "a delayed key is not work until it is due";
  c.queue().add("ns/a");
  EXPECT_TRUE(c.has_work()) << "a key waits";
  c.start();
  ASSERT_TRUE(wait_until([&] { return rec.entered == 1; }, 10s));
  EXPECT_TRUE(c.has_work()) << "a key is being reconciled";
  rec.open = true;
  EXPECT_TRUE(wait_until([&] { return !c.has_work(); }, 10s));
  c.stop();
}

}  // namespace
}  // namespace wo::runtime
