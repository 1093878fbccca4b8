#include "runtime/leader_election.h"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "kube/time.h"
#include "wo/log.h"
#include "wo/metrics.h"

namespace wo::runtime {

using web::json::value;

std::string default_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "unknown");
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return std::string(host) + "_" + suffix;
}

namespace {

std::string spec_string(const value& lease, const char* field) {
  if (!lease.has_field("spec") || !lease.at("spec").has_field(field) || !lease.at("spec").at(field).is_string()) {
    return {};
  }
  return lease.at("spec").at(field).as_string();
}

int spec_int(const value& lease, const char* field, int fallback) {
  if (!lease.has_field("spec") || !lease.at("spec").has_field(field) || !lease.at("spec").at(field).is_integer()) {
    return fallback;
  }
  return lease.at("spec").at(field).as_integer();
}

}  // namespace

LeaderElector::LeaderElector(kube::Client& client, LeaderElectionConfig config)
    : client_(client), config_(std::move(config)) {
  if (config_.lease_name.empty() || config_.lease_namespace.empty()) {
    throw std::invalid_argument("leader election needs a lease name and namespace");
  }
  if (!(config_.lease_duration > config_.renew_deadline) ||
      !(static_cast<double>(config_.renew_deadline.count()) >
        1.2 * static_cast<double>(config_.retry_period.count()))) {
    throw std::invalid_argument("leader election needs lease duration > renew deadline > 1.2 x retry period");
  }
  if (config_.identity.empty()) config_.identity = default_identity();
  if (config_.metrics != nullptr) {
    leader_gauge_ =
        &config_.metrics
             ->gauge("leader_election_master_status", "1 while this process holds the leader lease.", {"name"})
             .with({config_.lease_name});
  }
}

std::string LeaderElector::observed_leader() const {
  std::lock_guard lock(mu_);
  return observed_holder_;
}

void LeaderElector::set_leading(bool leading) {
  leading_ = leading;
  if (leader_gauge_ != nullptr) leader_gauge_->set(leading ? 1.0 : 0.0);
}

kube::RequestScope LeaderElector::bounded_by(Clock::time_point deadline) const {
  return kube::RequestScope({.deadline = std::chrono::steady_clock::now() + (deadline - config_.clock->now())});
}

int LeaderElector::lease_duration_seconds() const {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
}

bool LeaderElector::try_acquire_or_renew(Clock::time_point deadline) {
  // Every request of the attempt ends by the deadline (no retry, no 429 wait): the caller needs its
  // answer before its leadership could have expired.
  const kube::RequestScope bounded = bounded_by(deadline);
  const auto now_wall = std::chrono::system_clock::now();
  const auto now = config_.clock->now();
  value lease;
  try {
    lease = client_.get(leases_, config_.lease_namespace, config_.lease_name);
  } catch (const kube::ApiError& e) {
    if (!e.is_not_found()) throw;
    return create_lease(now_wall, now);
  }
  if (held_by_another(lease, now)) return false;
  return write_lease(std::move(lease), now_wall, now);
}

bool LeaderElector::create_lease(std::chrono::system_clock::time_point now_wall, Clock::time_point now) {
  value fresh = value::object();
  fresh["apiVersion"] = value::string("coordination.k8s.io/v1");
  fresh["kind"] = value::string("Lease");
  fresh["metadata"]["name"] = value::string(config_.lease_name);
  fresh["metadata"]["namespace"] = value::string(config_.lease_namespace);
  fresh["spec"]["holderIdentity"] = value::string(config_.identity);
  fresh["spec"]["leaseDurationSeconds"] = value::number(lease_duration_seconds());
  fresh["spec"]["acquireTime"] = value::string(kube::format_micro_time(now_wall));
  fresh["spec"]["renewTime"] = value::string(kube::format_micro_time(now_wall));
  fresh["spec"]["leaseTransitions"] = value::number(0);
  try {
    value created = client_.create(leases_, config_.lease_namespace, fresh);
    std::lock_guard lock(mu_);
    last_lease_ = created;
    observed_holder_ = config_.identity;
    observed_time_ = now;
    return true;
  } catch (const kube::ApiError& ce) {
    if (ce.is_already_exists() || ce.is_conflict()) return false;  // another candidate created it first
    throw;
  }
}

bool LeaderElector::held_by_another(const value& lease, Clock::time_point now) {
  const std::string holder = spec_string(lease, "holderIdentity");
  const std::string record = holder + "|" + spec_string(lease, "renewTime") + "|" + spec_string(lease, "acquireTime") +
                             "|" + std::to_string(spec_int(lease, "leaseTransitions", 0)) + "|" +
                             std::to_string(spec_int(lease, "leaseDurationSeconds", 0));
  bool new_leader = false, held_by_other = false;
  {
    std::lock_guard lock(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_time_ = now;
      observed_duration_ = std::chrono::seconds(spec_int(lease, "leaseDurationSeconds", lease_duration_seconds()));
      new_leader = holder != observed_holder_;
      observed_holder_ = holder;
    }
    held_by_other = !holder.empty() && holder != config_.identity && observed_time_ + observed_duration_ > now;
  }
  if (held_by_other && new_leader && config_.on_new_leader) config_.on_new_leader(holder);
  return held_by_other;  // and not expired
}

bool LeaderElector::write_lease(value lease, std::chrono::system_clock::time_point now_wall, Clock::time_point now) {
  const bool ours = spec_string(lease, "holderIdentity") == config_.identity;
  const std::string renew_time = kube::format_micro_time(now_wall);
  for (;;) {
    value updated = lease;
    updated["spec"]["holderIdentity"] = value::string(config_.identity);
    updated["spec"]["leaseDurationSeconds"] = value::number(lease_duration_seconds());
    updated["spec"]["renewTime"] = value::string(renew_time);
    if (!ours) {
      updated["spec"]["acquireTime"] = value::string(renew_time);
      updated["spec"]["leaseTransitions"] = value::number(spec_int(lease, "leaseTransitions", 0) + 1);
    }
    try {
      value written = client_.update(leases_, config_.lease_namespace, updated);  // carries metadata.resourceVersion
      note_written(written, now);
      break;
    } catch (const kube::ApiError& e) {
      if (!e.is_conflict()) throw;
    }
    // 409: the Lease changed since we read it: another candidate won, or someone wrote it without taking it
    // (labels, annotations), or our own earlier write landed though its answer was lost. Read it again.
    lease = client_.get(leases_, config_.lease_namespace, config_.lease_name);
    if (spec_string(lease, "holderIdentity") != config_.identity) return false;  // another holder, or freed
    if (spec_string(lease, "renewTime") == renew_time) {
      note_written(lease, now);  // our write of this attempt is what the server holds
      break;
    }
    if (!ours) return false;  // we were taking it, and what holds us now is not this attempt's write
    // Still ours, changed by someone else: write again on the fresh resourceVersion (bounded by the deadline).
  }
  if (!ours && config_.on_new_leader) config_.on_new_leader(config_.identity);
  return true;
}

void LeaderElector::note_written(const value& lease, Clock::time_point when) {
  std::lock_guard lock(mu_);
  last_lease_ = lease;
  observed_record_.clear();  // our own write: the next read updates observed_time_
  observed_holder_ = config_.identity;
  observed_time_ = when;
}

void LeaderElector::release() {
  value lease;
  {
    std::lock_guard lock(mu_);
    lease = last_lease_;
  }
  if (lease.is_null()) return;
  // Empty holder and a 1 s duration: the next candidate takes over at its next retry (client-go's release).
  const auto now = kube::format_micro_time(std::chrono::system_clock::now());
  try {
    // Bounded: a graceful stop must not hang on an unreachable API server (the Lease expires on its own).
    const kube::RequestScope bounded = bounded_by(config_.clock->now() + config_.renew_deadline);
    for (;;) {
      lease["spec"]["holderIdentity"] = value::string("");
      lease["spec"]["leaseDurationSeconds"] = value::number(1);
      lease["spec"]["renewTime"] = value::string(now);
      lease["spec"]["acquireTime"] = value::string(now);
      try {
        client_.update(leases_, config_.lease_namespace, lease);
        break;
      } catch (const kube::ApiError& e) {
        if (!e.is_conflict()) throw;
      }
      // Written since our last renewal (an annotation, say): release the current version if still ours.
      lease = client_.get(leases_, config_.lease_namespace, config_.lease_name);
      if (spec_string(lease, "holderIdentity") != config_.identity) return;
    }
    wo::log::info("released the leader lease", {{"lease", config_.lease_name}, {"identity", config_.identity}});
  } catch (const std::exception& e) {
    wo::log::warn("could not release the leader lease; it expires on its own",
                  {{"lease", config_.lease_name}, {"error", e.what()}});
  }
}

void LeaderElector::run(std::stop_token stop) {
  const std::string lease_id = config_.lease_namespace + "/" + config_.lease_name;
  wo::log::info("campaigning for leadership", {{"lease", lease_id}, {"identity", config_.identity}});
  // Acquire: retry every retry period until we hold the lease or are stopped.
  const Clock& clock = *config_.clock;
  Clock::time_point deadline;
  for (;;) {
    if (stop.stop_requested()) return;
    const auto attempt = clock.now();
    try {
      if (try_acquire_or_renew(attempt + config_.renew_deadline)) {
        deadline = attempt + config_.renew_deadline;
        break;
      }
    } catch (const std::exception& e) {
      wo::log::warn("leader election attempt failed", {{"lease", lease_id}, {"error", e.what()}});
    }
    if (!clock.sleep_for(stop, config_.retry_period)) return;
  }
  set_leading(true);
  wo::log::info("became leader", {{"lease", lease_id}, {"identity", config_.identity}});
  if (config_.on_started_leading) config_.on_started_leading();

  // Renew every retry period. Leadership lasts until the renew deadline after the start of the last
  // successful attempt (another candidate waits a whole lease duration after it saw that renewal); every
  // request of an attempt ends by then, so the loss is noticed at the deadline, not when a hung request
  // gives up, and no renewal can still be pending after it. Conflicts are retried within the attempt.
  bool lost = false;
  while (clock.sleep_for(stop, std::min<Clock::duration>(config_.retry_period, deadline - clock.now()))) {
    const auto attempt = clock.now();
    if (attempt >= deadline) {
      lost = true;
      wo::log::error("could not renew the leader lease within the renew deadline", {{"lease", lease_id}});
      break;
    }
    try {
      if (!try_acquire_or_renew(deadline)) {
        lost = true;  // someone else holds it now
        wo::log::warn("leader lease taken by another candidate", {{"lease", lease_id}, {"holder", observed_leader()}});
        break;
      }
      deadline = attempt + config_.renew_deadline;
    } catch (const std::exception& e) {
      wo::log::warn("renewing the leader lease failed", {{"lease", lease_id}, {"error", e.what()}});
    }
  }
  if (!lost && config_.release_on_stop) release();
  set_leading(false);
  if (lost) wo::log::error("lost leadership", {{"lease", lease_id}, {"identity", config_.identity}});
  if (config_.on_stopped_leading) config_.on_stopped_leading();
}

}  // namespace wo::runtime
