#include "core/routine.h"

#include <exception>

#include "wo/cli.h"
#include "wo/log.h"

namespace wo::worker {

RoutineContext::RoutineContext(std::string name, std::stop_token stop,
                               const std::atomic<wo::Clock::time_point>& deadline, const wo::Clock& clock)
    : name_(std::move(name)), stop_(std::move(stop)), deadline_(deadline), clock_(clock), last_progress_(clock.now()) {}

void RoutineContext::set_ready(bool ready, std::string reason) {
  std::lock_guard lock(mu_);
  ready_ = ready;
  reason_ = ready ? "" : (reason.empty() ? "not ready" : std::move(reason));
}

std::string RoutineContext::not_ready_reason() const {
  std::lock_guard lock(mu_);
  return ready_ ? "" : reason_;
}

void RoutineContext::set_live(bool live, std::string reason) {
  std::lock_guard lock(mu_);
  not_live_ = live ? "" : (reason.empty() ? "not live" : std::move(reason));
}

std::string RoutineContext::not_live_reason() const {
  std::lock_guard lock(mu_);
  return not_live_;
}

RoutineRunner::RoutineRunner(metrics::Registry& registry, health::Checks& checks, const wo::Clock& clock)
    : registry_(registry), checks_(checks), clock_(clock) {}

RoutineRunner::~RoutineRunner() {
  if (started_) stop(clock_.now());
  // Each entry's jthread joins as entries_ goes.
}

void RoutineRunner::add(std::unique_ptr<Routine> routine) {
  auto e = std::make_shared<Entry>();
  e->ctx = std::make_unique<RoutineContext>(routine->name(), stop_.get_token(), deadline_, clock_);
  e->routine = std::move(routine);
  std::weak_ptr<Entry> weak = e;
  checks_.add_liveness("routine " + e->ctx->name(), [this, weak] {
    auto entry = weak.lock();
    return entry ? liveness(*entry) : std::string();
  });
  checks_.add_readiness("routine " + e->ctx->name(), [weak] {
    auto entry = weak.lock();
    return entry ? entry->ctx->not_ready_reason() : std::string();
  });
  entries_.push_back(std::move(e));
}

std::string RoutineRunner::liveness(const Entry& e) const {
  {
    std::lock_guard lock(e.mu);
    if (!e.failure.empty()) return "died: " + e.failure;
  }
  if (std::string reason = e.ctx->not_live_reason(); !reason.empty() && !e.done.load()) return reason;
  auto timeout = e.routine->liveness_timeout();
  if (timeout.count() > 0 && !e.done.load() && e.ctx->since_progress() > timeout) {
    return "stuck: no progress for more than " + wo::cli::format_duration(timeout);
  }
  return "";
}

void RoutineRunner::start() {
  started_ = true;
  running_.store(static_cast<int>(entries_.size()));
  if (entries_.empty()) all_returned_.request_stop();
  auto& up =
      registry_.gauge("worker_routine_up", "1 while the routine runs, 0 once it has died or stopped", {"routine"});
  auto& deaths =
      registry_.counter("worker_routine_failures_total", "Routines that died (ended by an exception)", {"routine"});
  for (auto& e : entries_) {
    Entry* entry = e.get();
    up.with({entry->ctx->name()}).set(1);
    entry->thread = std::jthread([this, entry, &up, &deaths] { run_entry(*entry, up, deaths); });
  }
}

void RoutineRunner::run_entry(Entry& e, metrics::Family<metrics::Gauge>& up,
                              metrics::Family<metrics::Counter>& deaths) {
  std::string failure;
  try {
    e.routine->run(*e.ctx);
    if (!stop_.stop_requested()) failure = "returned before shutdown was requested";
  } catch (const std::exception& ex) {
    failure = ex.what();
  } catch (...) {
    failure = "unknown exception";
  }
  up.with({e.ctx->name()}).set(0);
  if (!failure.empty()) {
    deaths.with({e.ctx->name()}).inc();
    wo::log::error("routine died; /healthz now fails", {{"routine", e.ctx->name()}, {"error", failure}});
    std::lock_guard lock(e.mu);
    e.failure = failure;
  }
  e.done.store(true);
  if (running_.fetch_sub(1) == 1) all_returned_.request_stop();
}

bool RoutineRunner::stop(wo::Clock::time_point deadline, std::chrono::milliseconds grace) {
  if (!stop_.stop_requested()) {
    deadline_.store(deadline);  // before the stop: a routine that sees the stop sees its deadline
    stop_.request_stop();
  }
  if (!started_) return true;
  // Ends when the last routine returns (all_returned_) or at deadline + grace, whichever comes first.
  clock_.sleep_until(all_returned_.get_token(), deadline + grace);
  bool all = true;
  for (auto& e : entries_) {
    if (e->done.load()) {
      if (e->thread.joinable()) e->thread.join();
    } else {
      wo::log::error("routine did not stop by the shutdown deadline", {{"routine", e->ctx->name()}});
      all = false;
    }
  }
  started_ = !all;  // the destructor must not wait again for what has been joined
  return all;
}

std::vector<std::string> RoutineRunner::still_running() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    if (e->thread.joinable() && !e->done.load()) out.push_back(e->ctx->name());
  }
  return out;
}

std::vector<std::string> RoutineRunner::failures() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    std::lock_guard lock(e->mu);
    if (!e->failure.empty()) out.push_back(e->ctx->name() + ": " + e->failure);
  }
  return out;
}

}  // namespace wo::worker
