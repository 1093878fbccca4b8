#include "queue/handler_pool.h"

#include "wo/cli.h"

namespace wo::queue {

using Clock = std::chrono::steady_clock;
using wo::worker::CancelReason;

RunEnd judge_run(Outcome returned, std::string message, CancelReason reason,
                 std::chrono::milliseconds handler_timeout) {
  RunEnd end{returned, std::move(message), reason == CancelReason::lost};
  switch (returned == Outcome::completed ? CancelReason::none : reason) {
    case CancelReason::none:
    case CancelReason::lost:
      break;
    case CancelReason::requested:
      end.outcome = Outcome::canceled;
      end.message = "canceled on request";
      break;
    case CancelReason::shutdown:
      end.outcome = Outcome::released;
      break;
    case CancelReason::timeout:
      end.outcome = Outcome::errored;
      end.message = "handler timed out after " + wo::cli::format_duration(handler_timeout);
      break;
  }
  return end;
}

HandlerPool::HandlerPool(int concurrency, Handler handler, std::chrono::milliseconds handler_timeout, OnDone on_done)
    : alive_(concurrency),
      handler_(std::move(handler)),
      handler_timeout_(handler_timeout),
      on_done_(std::move(on_done)) {
  threads_.reserve(static_cast<std::size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) threads_.emplace_back([this] { loop(); });
}

HandlerPool::~HandlerPool() {
  close_and_join(Clock::now());
  // threads_ joins what is left as it goes (a handler ignoring its token: see close_and_join()).
}

void HandlerPool::submit(std::vector<Work> work) {
  const std::size_t n = work.size();
  bool wake_all = false;
  {
    std::lock_guard lock(mu_);
    for (auto& w : work) work_.push_back(std::move(w));
    // Enough work for every idle thread: one wake-up call for all of them rather than one per record.
    wake_all = work_.size() >= static_cast<std::size_t>(idle_);
  }
  if (wake_all) {
    work_cv_.notify_all();
  } else {
    for (std::size_t i = 0; i < n; ++i) work_cv_.notify_one();
  }
}

std::deque<Work> HandlerPool::take_unstarted() {
  std::deque<Work> out;
  std::lock_guard lock(mu_);
  out.swap(work_);
  return out;
}

bool HandlerPool::close_and_join(Clock::time_point deadline) {
  bool all_ended = false;
  {
    std::unique_lock lock(mu_);
    closing_ = true;
    work_cv_.notify_all();
    all_ended = ended_cv_.wait_until(lock, deadline, [&] { return alive_ == 0; });
  }
  if (all_ended) {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  return all_ended;
}

void HandlerPool::loop() {
  for (;;) {
    Work w;
    {
      std::unique_lock lock(mu_);
      ++idle_;
      work_cv_.wait(lock, [&] { return !work_.empty() || closing_; });
      --idle_;
      if (work_.empty()) {
        --alive_;
        ended_cv_.notify_all();  // close_and_join() waits for the last one
        return;
      }
      w = std::move(work_.front());
      work_.pop_front();
    }
    auto started = Clock::now();
    Outcome returned = Outcome::completed;
    std::string message;
    try {
      handler_(w.record, w.token);
    } catch (const PermanentError& e) {
      returned = Outcome::failed;
      message = e.what();
    } catch (const std::exception& e) {
      returned = Outcome::errored;
      message = e.what();
    } catch (...) {
      returned = Outcome::errored;
      message = "handler threw a non-standard exception";
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    on_done_(w, judge_run(returned, std::move(message), w.token.reason(), handler_timeout_), seconds);
  }
}

}  // namespace wo::queue
