// The work queue and its rate limiters on a FakeClock: delays pass when the test advances time, so no
// test sleeps through them and every delay is exact.
#include "runtime/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "testing/fake_clock.h"
#include "testing/wait.h"
#include "wo/metrics.h"

namespace wo::runtime {
namespace {

using namespace std::chrono_literals;
using wo::testing::FakeClock;
using wo::testing::wait_until;

WorkQueueOptions on(const FakeClock& clock) {
  WorkQueueOptions o;
  o.clock = &clock;
  return o;
}

TEST(WorkQueue, FifoAndDeduplicated) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("a");
  q.add("c");
  EXPECT_EQ(q.len(), 3u);
  EXPECT_EQ(*q.get(), "a");
  EXPECT_EQ(*q.get(), "b");
  EXPECT_EQ(*q.get(), "c");
}

TEST(WorkQueue, ReAddWhileProcessingIsProcessedAgainAfterDone) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(*q.get(), "a");
  q.add("a");  // dirty while processing: must not be handed to a second worker
  q.add("a");
  EXPECT_EQ(q.len(), 0u);
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(*q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueue, NeverProcessesOneKeyConcurrently) {
  WorkQueue q;
  std::atomic<int> in_flight_a{0}, max_in_flight_a{0}, processed{0};
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        if (*key == "a") {
          const int now = ++in_flight_a;
          int seen = max_in_flight_a.load();
          while (now > seen && !max_in_flight_a.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::yield();
          --in_flight_a;
        }
        ++processed;
        q.done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.add(i % 3 == 0 ? "a" : "k" + std::to_string(i % 50));
  q.shut_down_with_drain();
  for (auto& t : workers) t.join();
  EXPECT_EQ(max_in_flight_a.load(), 1);
  EXPECT_GT(processed.load(), 0);
  EXPECT_EQ(q.processing(), 0u);
}

TEST(WorkQueue, AddAfterDeliversLaterAndKeepsTheEarliestTime) {
  FakeClock clock;
  WorkQueue q(on(clock));
  q.add_after("late", 1h);
  q.add_after("soon", 10ms);
  q.add_after("late", 20ms);  // earlier than the first request: wins
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(q.len(), 0u);
  clock.advance(10ms);
  EXPECT_EQ(q.get(), "soon");
  ASSERT_TRUE(clock.wait_for_sleepers(1));  // the delay thread waits for the next key again
  EXPECT_EQ(q.len(), 0u) << "\"late\" is due in another 10 ms";
  clock.advance(10ms);
  EXPECT_EQ(q.get(), "late");
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(q.len(), 0u) << "the 1 h request was superseded, not kept as a second add";
  clock.advance(2h);
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(q.len(), 0u);
}

TEST(WorkQueue, AddAfterOfAQueuedKeyDoesNotDuplicate) {
  FakeClock clock;
  WorkQueue q(on(clock));
  q.add("a");
  q.add_after("a", 1ms);
  ASSERT_EQ(*q.get(), "a");
  clock.advance(1ms);
  // The delayed add lands while "a" is processing: it makes "a" dirty, not a second copy.
  ASSERT_TRUE(clock.wait_for_sleepers(1));
  EXPECT_EQ(q.len(), 0u);
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
}

TEST(WorkQueue, ShutDownHandsOutWhatIsQueuedThenStops) {
  FakeClock clock;
  WorkQueue q(on(clock));
  q.add("a");
  q.add_after("never", 1h);
  q.shut_down();
  q.add("b");  // ignored
  EXPECT_EQ(*q.get(), "a");
  EXPECT_FALSE(q.get().has_value());
  EXPECT_TRUE(q.shutting_down());
}

TEST(WorkQueue, ShutDownUnblocksWaitingWorkers) {
  WorkQueue q;
  auto waiting = std::async(std::launch::async, [&] { return q.get(); });
  q.shut_down();
  EXPECT_FALSE(waiting.get().has_value());
}

TEST(WorkQueue, ShutDownWithDrainWaitsForProcessing) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(*q.get(), "a");
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    q.shut_down_with_drain();
    drained = true;
  });
  EXPECT_TRUE(wait_until([&] { return q.shutting_down(); }, 1s));
  EXPECT_FALSE(drained.load());
  q.done("a");
  drainer.join();
  EXPECT_TRUE(drained.load());
}

TEST(ItemExponentialRateLimiter, DoublesFrom5msTo1000s) {
  ItemExponentialRateLimiter r(5ms, 1000s);
  EXPECT_EQ(r.when("a"), Duration(5ms));
  EXPECT_EQ(r.when("a"), Duration(10ms));
  EXPECT_EQ(r.when("a"), Duration(20ms));
  EXPECT_EQ(r.when("b"), Duration(5ms));  // per key
  EXPECT_EQ(r.num_requeues("a"), 3);
  for (int i = 0; i < 100; ++i) r.when("a");
  EXPECT_EQ(r.when("a"), Duration(1000s));
  r.forget("a");
  EXPECT_EQ(r.num_requeues("a"), 0);
  EXPECT_EQ(r.when("a"), Duration(5ms));
}

TEST(DefaultControllerRateLimiter, OverallBucketBoundsRetriesAcrossKeys) {
  FakeClock clock;
  auto r = default_controller_rate_limiter(clock);
  // The first 100 retries of distinct keys are free of bucket delay (burst 100): 5 ms each.
  for (int i = 0; i < 100; ++i) ASSERT_EQ(r->when("k" + std::to_string(i)), Duration(5ms));
  // Then the 10 qps bucket dominates: the 101st first-time failure waits 100 ms, the next 200 ms.
  EXPECT_EQ(r->when("k100"), Duration(100ms));
  EXPECT_EQ(r->when("k101"), Duration(200ms));
  clock.advance(10s);  // the bucket refills: only the per-key backoff is left
  EXPECT_EQ(r->when("k102"), Duration(5ms));
  EXPECT_EQ(r->when("k0"), Duration(10ms));
}

TEST(WorkQueue, RateLimitedRetriesAndForget) {
  FakeClock clock;
  metrics::Registry registry;
  WorkQueueOptions o = on(clock);
  o.name = "test";
  o.metrics = &registry;
  WorkQueue q(std::move(o));
  q.add("a");
  ASSERT_EQ(*q.get(), "a");
  q.add_rate_limited("a");  // a failed reconcile
  q.done("a");
  EXPECT_EQ(q.num_requeues("a"), 1);
  clock.advance(5ms);  // the first retry's delay
  auto again = q.get();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, "a");
  q.forget("a");
  q.done("a");
  EXPECT_EQ(q.num_requeues("a"), 0);
  const std::string text = registry.render();
  EXPECT_NE(text.find("workqueue_retries_total{name=\"test\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("workqueue_adds_total{name=\"test\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("workqueue_depth{name=\"test\"} 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace wo::runtime
