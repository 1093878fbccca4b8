#include "core/routine.h"

#include <exception>

#include "wo/cli.h"
#include "wo/log.h"

namespace wo::worker {

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

std::chrono::steady_clock::duration RoutineContext::since_progress() const {
  return std::chrono::steady_clock::now().time_since_epoch() -
         std::chrono::steady_clock::duration(last_progress_.load());
}

RoutineRunner::RoutineRunner(metrics::Registry& registry, health::Checks& checks)
    : registry_(registry), checks_(checks) {}

RoutineRunner::~RoutineRunner() {
  if (started_) stop(std::chrono::steady_clock::now());
}

void RoutineRunner::add(std::unique_ptr<Routine> routine) {
  auto e = std::make_shared<Entry>();
  e->ctx = std::make_unique<RoutineContext>(routine->name(), stop_);
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
  auto& up =
      registry_.gauge("worker_routine_up", "1 while the routine runs, 0 once it has died or stopped", {"routine"});
  auto& deaths =
      registry_.counter("worker_routine_failures_total", "Routines that died (ended by an exception)", {"routine"});
  for (auto& e : entries_) {
    Entry* entry = e.get();
    up.with({entry->ctx->name()}).set(1);
    entry->thread = std::thread([this, entry, &up, &deaths] {
      std::string failure;
      try {
        entry->routine->run(*entry->ctx);
        if (!stop_.requested()) failure = "returned before shutdown was requested";
      } catch (const std::exception& ex) {
        failure = ex.what();
      } catch (...) {
        failure = "unknown exception";
      }
      up.with({entry->ctx->name()}).set(0);
      if (!failure.empty()) {
        deaths.with({entry->ctx->name()}).inc();
        wo::log::error("routine died; /healthz now fails", {{"routine", entry->ctx->name()}, {"error", failure}});
        std::lock_guard lock(entry->mu);
        entry->failure = failure;
      }
      entry->done.store(true);
    });
  }
}

bool RoutineRunner::stop(std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds grace) {
  stop_.request(deadline);
  bool all = true;
  for (auto& e : entries_) {
    if (!e->thread.joinable()) continue;
    while (!e->done.load() && std::chrono::steady_clock::now() < deadline + grace) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (e->done.load()) {
      e->thread.join();
    } else {
      wo::log::error("routine did not stop by the shutdown deadline", {{"routine", e->ctx->name()}});
      e->thread.detach();
      all = false;
    }
  }
  started_ = false;
  return all;
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
