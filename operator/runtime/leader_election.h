// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
// - a candidate takes the Lease when it is free (no holder) or when the holder has not renewed it for
//   leaseDurationSeconds as measured on the candidate's own clock since it last saw the record change
//   (clock skew between machines does not matter; there is no fencing: two processes can briefly both
//   believe they lead, so reconciles must be idempotent);
// - the leader renews every retry period; if it cannot renew within renew_deadline of the start of its
//   last successful renewal it stops leading, at that deadline: every Lease request is bounded by the
//   time left (kube::RequestScope), never retried on a transport error nor held by a 429;
// - writes use the Lease's resourceVersion (optimistic concurrency); on a 409 the Lease is read again
//   within the deadline: another holder means another candidate won; still ours with our renewTime means
//   our write landed (its answer was lost); still ours otherwise means it is written again;
// - on a graceful stop the leader releases the Lease (empty holderIdentity, leaseDurationSeconds 1) so
//   another candidate takes over at its next retry instead of waiting out the lease.
//
// Losing leadership: on_stopped_leading runs and run() returns. The Manager then stops its controllers
// and reports an error so the process exits and restarts as a candidate (controller-runtime does the same).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>

#include "kube/client.h"
#include "wo/clock.h"
#include "wo/metrics.h"

namespace wo::runtime {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // empty: hostname + "_" + random suffix
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_stop = true;
  std::function<void()> on_started_leading;  // keep quick: start work on other threads
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string&)> on_new_leader;  // identity of the observed holder
  metrics::Registry* metrics = nullptr;
  // Retry periods, renew deadlines and lease expiry are measured by it; must outlive the elector. (The
  // Lease's renewTime and acquireTime are wall time, std::chrono::system_clock.)
  const Clock* clock = &steady_clock();
};

// hostname + "_" + 8 random hex digits.
std::string default_identity();

class LeaderElector {
 public:
  // Throws std::invalid_argument unless lease_duration > renew_deadline > 1.2 * retry_period and names are set.
  LeaderElector(kube::Client& client, LeaderElectionConfig config);

  // Campaigns, leads, renews. Returns when stop is requested (releasing the lease if leading) or when
  // leadership was lost. Never throws.
  void run(std::stop_token stop);

  bool is_leader() const { return leading_.load(); }
  const std::string& identity() const { return config_.identity; }
  std::string observed_leader() const;

 private:
  // One attempt to acquire or renew, every request ending by deadline; true when we hold the lease afterwards.
  bool try_acquire_or_renew(Clock::time_point deadline);
  // The parts of an attempt: the Lease is missing (create it, ours); it is read (note what changed and
  // whether another holder's lease is still running); it is free, expired or ours (write us as holder).
  bool create_lease(std::chrono::system_clock::time_point now_wall, Clock::time_point now);
  bool held_by_another(const web::json::value& lease, Clock::time_point now);
  bool write_lease(web::json::value lease, std::chrono::system_clock::time_point now_wall, Clock::time_point now);
  int lease_duration_seconds() const;
  void note_written(const web::json::value& lease, Clock::time_point when);
  // Bounds the Lease requests of this thread by `deadline` of the clock (requests are timed in real time).
  kube::RequestScope bounded_by(Clock::time_point deadline) const;
  void release();
  void set_leading(bool leading);

  kube::Client& client_;
  LeaderElectionConfig config_;
  kube::ResourceRef leases_{"coordination.k8s.io", "v1", "leases", true, "Lease"};
  std::atomic<bool> leading_{false};
  mutable std::mutex mu_;
  std::string observed_record_;  // holder|renewTime|acquireTime|transitions|duration as last seen
  std::string observed_holder_;
  std::chrono::seconds observed_duration_{0};
  Clock::time_point observed_time_{};
  web::json::value last_lease_;  // what we last wrote or read (with resourceVersion)
  metrics::Gauge* leader_gauge_ = nullptr;
};

}  // namespace wo::runtime
