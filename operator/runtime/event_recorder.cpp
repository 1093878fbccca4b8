#include "runtime/event_recorder.h"

#include <unistd.h>

#include <utility>

#include "kube/time.h"
#include "wo/log.h"
#include "wo/text.h"

namespace wo::runtime {

using web::json::value;

namespace {

std::string str(const value& o, const char* field) {
  return o.is_object() && o.has_field(field) && o.at(field).is_string() ? o.at(field).as_string() : std::string{};
}

constexpr size_t kMaxMessage = 1024;
constexpr auto kDeferralPoll = std::chrono::milliseconds(100);

}  // namespace

std::string EventRecorder::Involved::key() const {
  return namespace_.empty() ? name : namespace_ + "/" + name;
}

std::string EventRecorder::Involved::id() const {
  return uid.empty() ? kind + "/" + key() : uid;
}

EventRecorder::EventRecorder(kube::Client& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.instance.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options_.instance = host;
  }
  thread_ = std::jthread([this](std::stop_token stop) { loop(std::move(stop)); });
  stopped_ = thread_.get_stop_token();
}

EventRecorder::~EventRecorder() {
  stop(std::chrono::seconds(0));
}

void EventRecorder::record(const value& involved, const std::string& type, const std::string& reason,
                           const std::string& message) {
  Involved ref{str(involved, "apiVersion"),         str(involved, "kind"),
               kube::meta_string(involved, "name"), kube::meta_string(involved, "namespace"),
               kube::meta_string(involved, "uid"),  kube::meta_string(involved, "resourceVersion")};
  std::lock_guard lock(mu_);
  if (stopped_.stop_requested()) return;
  auto& bucket = buckets_[ref.id()];
  if (!bucket) bucket = std::make_unique<kube::TokenBucket>(options_.per_object_qps, options_.per_object_burst);
  if (queue_.size() >= options_.queue_capacity || !bucket->try_take()) {
    ++dropped_;
    wo::log::debug("event dropped", {{"object", ref.key()}, {"reason", reason}});
    return;
  }
  if (buckets_.size() > options_.max_cached_series) buckets_.clear();  // bounded memory; limits restart
  queue_.push_back({std::move(ref), type, reason, text::clean(message, kMaxMessage), std::chrono::system_clock::now(),
                    std::chrono::steady_clock::now()});
  cv_.notify_all();
}

void EventRecorder::stop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) return;
  flushing_ = timeout.count() > 0;  // no deferring while writing what is queued; with 0, nothing is written
  cv_.notify_all();
  cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
  queue_.clear();
  thread_.request_stop();  // under the lock, so no record() slips in after the queue was cleared
  lock.unlock();
  requests_.cancel();
  thread_.join();
}

uint64_t EventRecorder::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

uint64_t EventRecorder::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

void EventRecorder::loop(std::stop_token stop) {
  const kube::RequestScope cancelled_on_stop({.deadline = std::nullopt, .cancel = requests_.get_token()});
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      cv_.notify_all();
      if (!cv_.wait(lock, stop, [this] { return !queue_.empty(); })) return;  // stopped
      if (deferring()) {
        // Polled: the controllers' work does not signal its end. Only while events wait.
        cv_.wait_for(lock, stop, kDeferralPoll, [this] { return flushing_; });
        continue;
      }
      p = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    try {
      write(p);
      std::lock_guard lock(mu_);
      ++written_;
    } catch (const std::exception& e) {
      wo::log::warn("could not record event",
                    {{"object", p.involved.key()}, {"reason", p.reason}, {"error", e.what()}});
    }
  }
}

bool EventRecorder::deferring() const {
  if (!options_.defer_while || flushing_) return false;
  if (queue_.size() * 2 >= options_.queue_capacity) return false;  // never drop an event for having waited
  if (std::chrono::steady_clock::now() - queue_.front().queued >= options_.max_delay) return false;
  return options_.defer_while();
}

void EventRecorder::write(const Pending& p) {
  const Involved& o = p.involved;
  const std::string ns = o.namespace_.empty() ? "default" : o.namespace_;  // events about cluster-scoped objects
  const std::string series_key = o.id() + "\n" + p.type + "\n" + p.reason + "\n" + p.message;
  const std::string now = kube::format_micro_time(p.at);
  const std::string now_seconds = now.substr(0, 19) + "Z";  // Events' timestamps are metav1.Time (seconds)

  if (auto it = series_.find(series_key); it != series_.end()) {
    value patch = value::object();
    patch["count"] = value::number(it->second.count + 1);
    patch["lastTimestamp"] = value::string(now_seconds);
    try {
      client_.merge_patch(events_, it->second.namespace_, it->second.name, patch);
      it->second.count++;
      return;
    } catch (const kube::ApiError& e) {
      if (!e.is_not_found()) throw;
      series_.erase(it);  // the Event expired (the API server keeps them about an hour): start a new one
    }
  }

  const std::string& name = o.name;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(p.at.time_since_epoch()).count()));
  value ev = value::object();
  ev["apiVersion"] = value::string("v1");
  ev["kind"] = value::string("Event");
  ev["metadata"]["name"] = value::string(name + suffix);
  ev["metadata"]["namespace"] = value::string(ns);
  value ref = value::object();
  for (const auto& [field, v] : {std::pair{"apiVersion", &o.api_version},
                                 {"kind", &o.kind},
                                 {"name", &o.name},
                                 {"namespace", &o.namespace_},
                                 {"uid", &o.uid},
                                 {"resourceVersion", &o.resource_version}}) {
    if (!v->empty()) ref[field] = value::string(*v);
  }
  ev["involvedObject"] = ref;
  ev["type"] = value::string(p.type);
  ev["reason"] = value::string(p.reason);
  ev["message"] = value::string(p.message);
  ev["count"] = value::number(1);
  ev["firstTimestamp"] = value::string(now_seconds);
  ev["lastTimestamp"] = value::string(now_seconds);
  ev["source"]["component"] = value::string(options_.component);
  ev["reportingComponent"] = value::string(options_.component);
  ev["reportingInstance"] = value::string(options_.instance);
  client_.create(events_, ns, ev);
  if (series_.size() >= options_.max_cached_series) series_.clear();
  series_[series_key] = Series{ns, name + suffix, 1};
}

}  // namespace wo::runtime
