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
    : state_(std::make_shared<State>()) {
  state_->handler = std::move(handler);
  state_->handler_timeout = handler_timeout;
  state_->on_done = std::move(on_done);
  threads_.reserve(static_cast<std::size_t>(concurrency));
  for (int i = 0; i < concurrency; ++i) threads_.emplace_back(loop, state_);
}

HandlerPool::~HandlerPool() {
  close_and_join(Clock::now());
}

void HandlerPool::submit(std::vector<Work> work) {
  {
    std::lock_guard lock(state_->mu);
    for (auto& w : work) state_->work.push_back(std::move(w));
  }
  state_->cv.notify_all();
}

std::deque<Work> HandlerPool::take_unstarted() {
  std::deque<Work> out;
  std::lock_guard lock(state_->mu);
  out.swap(state_->work);
  return out;
}

void HandlerPool::close_and_join(Clock::time_point deadline) {
  {
    std::lock_guard lock(state_->mu);
    state_->closing = true;
  }
  state_->cv.notify_all();
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    bool idle = false;
    for (;;) {
      {
        std::lock_guard lock(state_->mu);
        idle = state_->busy == 0;
      }
      if (idle || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (idle) {
      t.join();
    } else {
      t.detach();
    }
  }
}

void HandlerPool::loop(const std::shared_ptr<State>& s) {
  for (;;) {
    Work w;
    {
      std::unique_lock lock(s->mu);
      s->cv.wait(lock, [&] { return !s->work.empty() || s->closing; });
      if (s->work.empty()) return;
      w = std::move(s->work.front());
      s->work.pop_front();
      ++s->busy;
    }
    auto started = Clock::now();
    Outcome returned = Outcome::completed;
    std::string message;
    try {
      s->handler(w.record, w.token);
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
    s->on_done(w, judge_run(returned, std::move(message), w.token.reason(), s->handler_timeout), seconds);
    std::lock_guard lock(s->mu);
    --s->busy;
  }
}

}  // namespace wo::queue
