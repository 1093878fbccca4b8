#include "runtime/work_queue.h"

#include "wo/metrics.h"

namespace wo::runtime {

WorkQueue::WorkQueue(WorkQueueOptions options) : options_(std::move(options)), clock_(*options_.clock) {
  if (!options_.rate_limiter) options_.rate_limiter = default_controller_rate_limiter(clock_);
  if (auto* r = options_.metrics) {
    const std::vector<std::string> name{options_.name};
    depth_ = &r->gauge("workqueue_depth", "Current depth of the work queue.", {"name"}).with(name);
    adds_ = &r->counter("workqueue_adds_total", "Keys added to the work queue.", {"name"}).with(name);
    retries_ = &r->counter("workqueue_retries_total", "Rate-limited re-adds (retries) to the work queue.", {"name"})
                    .with(name);
    queue_duration_ = &r->histogram("workqueue_queue_duration_seconds",
                                    "Time a key waits in the queue before it is handed out.", {"name"})
                           .with(name);
    work_duration_ =
        &r->histogram("workqueue_work_duration_seconds", "Time from handing a key out to done().", {"name"}).with(name);
  }
  delay_thread_ = std::jthread([this] { delay_loop(); });
}

WorkQueue::~WorkQueue() {
  shut_down();  // ends the delay loop; delay_thread_ joins it
}

void WorkQueue::update_depth_locked() {
  if (depth_ != nullptr) depth_->set(static_cast<double>(queue_.size()));
}

void WorkQueue::add_locked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key) != 0) return;
  if (adds_ != nullptr) adds_->inc();
  dirty_.insert(key);
  added_at_.emplace(key, clock_.now());
  if (processing_.count(key) != 0) return;  // done() will queue it again
  queue_.push_back(key);
  update_depth_locked();
  cv_.notify_all();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  add_locked(key);
}

void WorkQueue::add_after(const std::string& key, Clock::duration delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (delay <= Clock::duration::zero()) {
    add_locked(key);
    return;
  }
  const auto ready = clock_.now() + delay;
  auto [it, inserted] = waiting_.emplace(key, ready);
  if (!inserted && ready < it->second) it->second = ready;
  wake_delay_thread_locked();
}

void WorkQueue::wake_delay_thread_locked() {
  wake_delay_thread_.request_stop();
}

void WorkQueue::add_rate_limited(const std::string& key) {
  if (retries_ != nullptr) retries_->inc();
  add_after(key, options_.rate_limiter->when(key));
}

void WorkQueue::forget(const std::string& key) {
  options_.rate_limiter->forget(key);
}

int WorkQueue::num_requeues(const std::string& key) {
  return options_.rate_limiter->num_requeues(key);
}

void WorkQueue::delay_loop() {
  std::unique_lock lock(mu_);
  while (!shutting_down_) {
    const auto now = clock_.now();
    auto next = Clock::time_point::max();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (it->second <= now) {
        add_locked(it->first);
        it = waiting_.erase(it);
      } else {
        next = std::min(next, it->second);
        ++it;
      }
    }
    // A wake requested after this point (between unlock and sleep) stops this very token, so the
    // sleep returns at once: no wake-up is lost.
    wake_delay_thread_ = std::stop_source();
    const std::stop_token wake = wake_delay_thread_.get_token();
    lock.unlock();
    clock_.sleep_until(wake, next);  // time_point::max(): until a key is delayed or the queue shuts down
    lock.lock();
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  update_depth_locked();
  processing_.insert(key);
  dirty_.erase(key);
  const auto now = clock_.now();
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    if (queue_duration_ != nullptr) queue_duration_->observe(std::chrono::duration<double>(now - it->second).count());
    added_at_.erase(it);
  }
  started_at_[key] = now;
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  if (processing_.erase(key) == 0) return;
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    if (work_duration_ != nullptr)
      work_duration_->observe(std::chrono::duration<double>(clock_.now() - it->second).count());
    started_at_.erase(it);
  }
  if (dirty_.count(key) != 0) {
    queue_.push_back(key);
    update_depth_locked();
    cv_.notify_all();
  }
  if (processing_.empty()) cv_.notify_all();  // a draining shut_down waits for this
}

void WorkQueue::shut_down_locked() {
  shutting_down_ = true;
  waiting_.clear();  // delayed keys are dropped
  cv_.notify_all();
  wake_delay_thread_locked();
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  shut_down_locked();
}

void WorkQueue::shut_down_with_drain() {
  std::unique_lock lock(mu_);
  shut_down_locked();
  cv_.wait(lock, [this] { return processing_.empty() && queue_.empty(); });
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t WorkQueue::processing() const {
  std::lock_guard lock(mu_);
  return processing_.size();
}

}  // namespace wo::runtime
