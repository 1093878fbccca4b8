// Records core/v1 Events on an involved object, as `kubectl describe` shows them.
//
// record() never blocks a reconcile: events go to a bounded queue written by a background thread (when
// full, events are dropped and counted). Repeats of the same type+reason+message on the same object
// update the existing Event (count + 1, lastTimestamp) instead of creating another. Each object has its
// own token bucket (burst 25, one more every 5 minutes, like client-go's EventCorrelator) so a
// failing object cannot flood the API server; over-limit events are dropped.
//
// Events yield to the controllers' own writes: while `defer_while` says the controllers have work, the
// writer holds the queued events back (each at most `max_delay`, and only while the queue is less than half
// full), so a burst of reconciles is not slowed by its own Events; they follow it. The kubelet's
// --event-qps serves the same end with a fixed rate; waiting for the work to end needs no rate to tune.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "kube/client.h"
#include "kube/rate_limiter.h"

namespace wo::runtime {

struct EventRecorderOptions {
  std::string component = "worker-operator";  // source.component / reportingComponent
  std::string instance;                       // reportingInstance (e.g. the pod name); default hostname
  size_t queue_capacity = 4096;               // about 0.5 KiB each: deferred events of a burst wait here
  double per_object_qps = 1.0 / 300.0;
  int per_object_burst = 25;
  size_t max_cached_series = 4096;  // remembered (object, reason, message) series for aggregation
  // True while the writes of others come first (the manager's controllers_have_work); unset: never.
  // Called on the writer's thread, often while events wait: it must be cheap and must not record.
  std::function<bool()> defer_while;
  std::chrono::milliseconds max_delay{std::chrono::seconds(30)};
};

class EventRecorder {
 public:
  EventRecorder(kube::Client& client, EventRecorderOptions options = {});
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // involved: the object (apiVersion, kind, metadata.name/namespace/uid are used). type: "Normal" | "Warning".
  void record(const web::json::value& involved, const std::string& type, const std::string& reason,
              const std::string& message);
  // Writes what is queued (waiting at most `timeout`, and no longer deferring), then stops the writer: what is still
  // queued is dropped and a write still in flight is cancelled, so stop() never waits on a hung API server (and, with 0
  // after leadership was lost, nothing more is written). Idempotent.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  uint64_t dropped() const;
  uint64_t written() const;  // creates + aggregations that reached the API server

 private:
  // Only what an Event refers to is kept, not the whole (possibly large) object: a burst's events may wait.
  struct Involved {
    std::string api_version, kind, name, namespace_, uid, resource_version;
    std::string key() const;  // namespace/name
    std::string id() const;   // the uid, or kind/namespace/name without one
  };
  struct Pending {
    Involved involved;
    std::string type, reason, message;
    std::chrono::system_clock::time_point at;      // the Event's timestamps
    std::chrono::steady_clock::time_point queued;  // for max_delay
  };
  struct Series {
    std::string namespace_, name;
    int count = 0;
  };
  void loop(std::stop_token stop);
  bool deferring() const;  // under mu_, with the queue not empty
  void write(const Pending& p);

  kube::Client& client_;
  EventRecorderOptions options_;
  kube::ResourceRef events_{"", "v1", "events", true, "Event"};
  mutable std::mutex mu_;
  std::condition_variable_any cv_;  // a record, the writer going idle, or stop()
  std::deque<Pending> queue_;
  bool busy_ = false;
  bool flushing_ = false;  // stop() is writing what is queued: no more deferring
  uint64_t dropped_ = 0, written_ = 0;
  std::map<std::string, std::unique_ptr<kube::TokenBucket>> buckets_;  // by involved object uid/key
  std::map<std::string, Series> series_;                               // writer thread only
  std::stop_token stopped_;                   // the writer's, for record() (thread_ itself is joined concurrently)
  pplx::cancellation_token_source requests_;  // the writer's requests (a RequestScope on its thread)
  std::jthread thread_;                       // the writer; stop() requests its stop (then no more records are taken)
};

}  // namespace wo::runtime
