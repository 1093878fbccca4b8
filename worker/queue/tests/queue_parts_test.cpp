// Unit tests of the queue worker's parts where their logic is pure: how a run's end is judged, when
// outcomes are written and records claimed, the held attempts, and readiness across connections.
#include <gtest/gtest.h>

#include <condition_variable>
#include <latch>
#include <mutex>

#include "queue/completer.h"
#include "queue/dispatcher.h"
#include "queue/handler_pool.h"
#include "queue/held_attempts.h"
#include "queue/readiness.h"
#include "testing/wait.h"

namespace wo::queue {
namespace {

using std::chrono::milliseconds;
using wo::worker::CancelReason;
using wo::worker::CancelToken;
using Clock = std::chrono::steady_clock;

TEST(JudgeRunTest, AReturnedHandlerCompletesWhateverReachedItsToken) {
  for (auto reason : {CancelReason::none, CancelReason::requested, CancelReason::shutdown, CancelReason::timeout}) {
    RunEnd end = judge_run(Outcome::completed, "", reason, milliseconds(100));
    EXPECT_EQ(end.outcome, Outcome::completed) << to_string(reason);
    EXPECT_FALSE(end.lost);
  }
}

TEST(JudgeRunTest, AFailedRunEndsByItsCancelReason) {
  EXPECT_EQ(judge_run(Outcome::errored, "boom", CancelReason::none, milliseconds(0)).outcome, Outcome::errored);
  EXPECT_EQ(judge_run(Outcome::failed, "bad", CancelReason::none, milliseconds(0)).outcome, Outcome::failed);
  RunEnd canceled = judge_run(Outcome::errored, "cancelled", CancelReason::requested, milliseconds(0));
  EXPECT_EQ(canceled.outcome, Outcome::canceled);
  EXPECT_EQ(canceled.message, "canceled on request");
  EXPECT_EQ(judge_run(Outcome::errored, "x", CancelReason::shutdown, milliseconds(0)).outcome, Outcome::released);
  RunEnd timed_out = judge_run(Outcome::errored, "x", CancelReason::timeout, milliseconds(1500));
  EXPECT_EQ(timed_out.outcome, Outcome::errored);
  EXPECT_EQ(timed_out.message, "handler timed out after 1.5s");
}

TEST(JudgeRunTest, ALostAttemptIsNeverWritten) {
  EXPECT_TRUE(judge_run(Outcome::completed, "", CancelReason::lost, milliseconds(0)).lost);
  EXPECT_TRUE(judge_run(Outcome::errored, "x", CancelReason::lost, milliseconds(0)).lost);
}

TEST(FlushDueTest, WritesAtOnceWhenNoHandlerRunsElseWaitsTheBatchDelay) {
  auto t0 = Clock::now();
  EXPECT_FALSE(flush_due(0, 0, t0, t0, true)) << "nothing to write";
  EXPECT_TRUE(flush_due(3, 0, t0, t0, false)) << "nothing else will come soon";
  EXPECT_FALSE(flush_due(3, 2, t0, t0 + kBatchDelay / 2, false)) << "others may join the batch";
  EXPECT_TRUE(flush_due(3, 2, t0, t0 + kBatchDelay, false));
  EXPECT_TRUE(flush_due(3, 2, t0, t0, true)) << "stopping";
}

TEST(ClaimDueTest, ClaimsForFreeHandlersWithSomethingToLookForInBatches) {
  auto t0 = Clock::now();
  auto later = t0 + std::chrono::hours(1);
  EXPECT_FALSE(claim_due(0, 4, true, t0, t0, t0)) << "no free handler";
  EXPECT_FALSE(claim_due(2, 2, false, t0, later, t0 + kBatchDelay)) << "nothing to look for before the poll";
  EXPECT_TRUE(claim_due(2, 2, false, t0, t0, t0 + kBatchDelay)) << "the poll is due";
  EXPECT_TRUE(claim_due(4, 0, true, t0, later, t0)) << "every handler is free";
  EXPECT_FALSE(claim_due(1, 3, true, t0, later, t0)) << "more handlers may free up for the same claim";
  EXPECT_TRUE(claim_due(1, 3, true, t0, later, t0 + kBatchDelay));
}

TEST(ClaimableTest, OneRecordPerFreeHandlerButAtMostOneBatchOfOutcomesWaiting) {
  EXPECT_EQ(claimable(8, 0, 0), 8);
  EXPECT_EQ(claimable(8, 3, 3), 5) << "handlers free";
  EXPECT_EQ(claimable(8, 0, 8), 8) << "one batch of outcomes waits: handlers go on meanwhile";
  EXPECT_EQ(claimable(8, 0, 12), 4) << "the completer falls behind: claims wait for it";
  EXPECT_EQ(claimable(8, 2, 20), 0);
}

TEST(HeldAttemptsTest, AnAttemptStaysHeldUntilItsOutcomeIsWritten) {
  HeldAttempts held;
  uint64_t run = held.add(7, "t7", CancelToken(), Clock::time_point::max());
  EXPECT_EQ(held.running(), 1);
  EXPECT_FALSE(held.handler_returned(7, run + 1)) << "another run";
  EXPECT_TRUE(held.handler_returned(7, run));
  EXPECT_EQ(held.running(), 0) << "its handler slot is free";
  EXPECT_EQ(held.ids(), std::vector<int64_t>{7}) << "still held: heartbeated, never claimed again";
  held.release(7, "another attempt's token");
  EXPECT_EQ(held.size(), 1u);
  held.release(7, "t7");
  EXPECT_EQ(held.size(), 0u);
}

TEST(HeldAttemptsTest, AHeartbeatCancelsLostAndRequestedAttemptsOnly) {
  HeldAttempts held;
  CancelToken kept, lost, requested, replaced;
  held.add(1, "a", kept, Clock::time_point::max());
  held.add(2, "b", lost, Clock::time_point::max());
  held.add(3, "c", requested, Clock::time_point::max());
  held.add(4, "d", replaced, Clock::time_point::max());
  auto sent = held.attempts();
  held.release(4, "d");
  held.add(4, "d2", replaced, Clock::time_point::max());  // claimed again after the heartbeat was sent
  auto effect = held.apply_heartbeat(sent, {{1, false, true}, {3, true, false}});
  EXPECT_EQ(effect.lost, std::vector<int64_t>{2});
  EXPECT_TRUE(effect.any_locked);
  EXPECT_FALSE(kept.cancelled());
  EXPECT_EQ(lost.reason(), CancelReason::lost);
  EXPECT_EQ(requested.reason(), CancelReason::requested);
  EXPECT_FALSE(replaced.cancelled()) << "the answer was about the attempt before";
}

TEST(HeldAttemptsTest, OverdueHandlersAreCancelledOnceAndTheirDeadlineIsSpent) {
  HeldAttempts held;
  auto t0 = Clock::now();
  CancelToken slow, fast;
  held.add(1, "a", slow, t0 + milliseconds(10));
  held.add(2, "b", fast, t0 + milliseconds(50));
  EXPECT_EQ(held.next_deadline(), t0 + milliseconds(10));
  EXPECT_EQ(held.cancel_overdue(t0 + milliseconds(20)), std::vector<int64_t>{1});
  EXPECT_EQ(slow.reason(), CancelReason::timeout);
  EXPECT_FALSE(fast.cancelled());
  EXPECT_EQ(held.next_deadline(), t0 + milliseconds(50)) << "a spent deadline must not wake anyone again";
  EXPECT_TRUE(held.cancel_overdue(t0 + milliseconds(30)).empty());
}

TEST(HeldAttemptsTest, AHandlerIgnoringItsCancellationPastTheGraceIsReported) {
  HeldAttempts held;
  auto t0 = Clock::now();
  CancelToken stuck, stopping;
  held.add(5, "a", stuck, Clock::time_point::max());
  held.add(6, "b", stopping, Clock::time_point::max());
  stuck.cancel(CancelReason::requested);
  stopping.cancel(CancelReason::shutdown);
  auto first = held.ignoring_cancellation(t0, milliseconds(100), "jobs");
  EXPECT_EQ(first.reason, "");
  EXPECT_EQ(first.next_check, t0 + milliseconds(100));
  auto later = held.ignoring_cancellation(t0 + milliseconds(100), milliseconds(100), "jobs");
  EXPECT_EQ(later.reason,
            "the handler of record 5 of queue jobs ignored its cancellation (cancel requested) for more than 100ms");
  held.handler_returned(5, 1);
  EXPECT_EQ(held.ignoring_cancellation(t0 + milliseconds(200), milliseconds(100), "jobs").reason, "");
}

TEST(HeldAttemptsTest, AbandoningHandsBackRunningAttemptsAndIgnoresTheirLateReturn) {
  HeldAttempts held;
  uint64_t running = held.add(1, "a", CancelToken(), Clock::time_point::max());
  uint64_t returned = held.add(2, "b", CancelToken(), Clock::time_point::max());
  held.handler_returned(2, returned);
  auto abandoned = held.abandon_running();
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].id, 1);
  EXPECT_EQ(abandoned[0].attempt_token, "a");
  EXPECT_FALSE(held.handler_returned(1, running)) << "its outcome must not be written";
  EXPECT_EQ(held.ids(), std::vector<int64_t>{2}) << "an outcome waiting to be written stays held";
}

// At shutdown the pool waits for its threads until the deadline (woken by the last one, not polling);
// a handler ignoring its token keeps its thread, which the pool still owns and joins once it returns.
TEST(HandlerPoolTest, CloseAndJoinWaitsUntilTheDeadlineAndNeverLetsARunningHandlerGo) {
  std::latch started(1), release(1);
  std::atomic<int> done{0};
  {
    HandlerPool pool(
        2,
        [&](const Record&, const CancelToken&) {
          started.count_down();
          release.wait();  // ignores its token
        },
        milliseconds(0), [&](Work&, const RunEnd&, double) { ++done; });
    Work w;
    w.record.id = 1;
    std::vector<Work> work;
    work.push_back(std::move(w));
    pool.submit(std::move(work));
    started.wait();
    EXPECT_FALSE(pool.close_and_join(Clock::now())) << "a handler still runs at the deadline";
    EXPECT_EQ(done.load(), 0);
    release.count_down();
    EXPECT_TRUE(pool.close_and_join(Clock::now() + std::chrono::seconds(30)));
    EXPECT_EQ(done.load(), 1) << "its return is still reported";
  }
}

// A submit wakes one idle thread per record, or all of them when there is work for all: whatever the
// batch sizes, every record runs, and the records of one batch run at once on as many threads.
TEST(HandlerPoolTest, EveryRecordRunsWhetherSubmittedAloneOrInBatches) {
  constexpr int kThreads = 4;
  std::atomic<int> done{0};
  // The first batch of four: each of its handlers waits (boundedly) until all four run.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::atomic<int> alone{0};  // first-batch handlers that gave up waiting for the others
  HandlerPool pool(
      kThreads,
      [&](const Record& r, const CancelToken&) {
        if (r.id > kThreads) return;
        std::unique_lock lock(mu);
        ++arrived;
        cv.notify_all();
        if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == kThreads; })) ++alone;
      },
      milliseconds(0), [&](Work&, const RunEnd&, double) { ++done; });
  int64_t next_id = 1;
  auto submit = [&](int n) {
    std::vector<Work> work(static_cast<std::size_t>(n));
    for (auto& w : work) w.record.id = next_id++;
    pool.submit(std::move(work));
  };
  submit(kThreads);
  for (int batch : {1, 1, 2, 7, 1, 3, 16, 1}) submit(batch);
  ASSERT_TRUE(wo::testing::wait_until([&] { return done.load() == static_cast<int>(next_id - 1); },
                                      std::chrono::seconds(30), milliseconds(1)))
      << done.load() << " of " << next_id - 1 << " records ran";
  EXPECT_EQ(alone.load(), 0) << "the first four records did not all run at once";
  EXPECT_TRUE(pool.close_and_join(Clock::now() + std::chrono::seconds(30)));
}

TEST(PartsReadinessTest, ReadyOnlyWhileEveryPartIs) {
  std::vector<std::pair<bool, std::string>> published;
  PartsReadiness readiness([&](bool ready, const std::string& reason) { published.emplace_back(ready, reason); });
  readiness.set("dispatcher", "");
  readiness.set("completer", "database: down");
  readiness.set("dispatcher", "");
  readiness.set("completer", "");
  ASSERT_EQ(published.size(), 4u);
  EXPECT_EQ(published[0], std::make_pair(true, std::string()));
  EXPECT_EQ(published[1], std::make_pair(false, std::string("database: down")));
  EXPECT_EQ(published[2], std::make_pair(false, std::string("database: down"))) << "another part is still down";
  EXPECT_EQ(published[3], std::make_pair(true, std::string()));
}

}  // namespace
}  // namespace wo::queue
