#include "informer.h"

#include <set>

#include "wo/log.h"

namespace wo::kube {

using web::json::value;

Informer::Informer(Client& client, ReflectorOptions options)
    : options_(options), reflector_(client, std::move(options), *this) {}

Informer::~Informer() {
  stop();
}

void Informer::add_handlers(EventHandlers handlers) {
  handlers_.push_back(std::move(handlers));
}

void Informer::start() {
  if (thread_.joinable()) return;
  // Resuming from a kept resourceVersion: the consumer already has the state; no list will come.
  if (!options_.start_resource_version.empty()) synced_ = true;
  thread_ = std::jthread([this](std::stop_token stop) { reflector_.run(stop); });
}

void Informer::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  sync_cv_.notify_all();
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout, std::stop_token stop) const {
  std::unique_lock lock(sync_mu_);
  return sync_cv_.wait_for(lock, stop, timeout, [this] { return synced_.load(); });
}

// Handlers must not take the informer down: a throwing handler is logged and the next one still runs.
template <typename F>
static void guarded(const char* what, const F& f) {
  try {
    f();
  } catch (const std::exception& e) {
    wo::log::error("informer event handler failed", {{"event", what}, {"error", e.what()}});
  }
}

void Informer::dispatch_add(const ObjectPtr& o) {
  for (const auto& h : handlers_) {
    if (h.on_add) guarded("add", [&] { h.on_add(o); });
  }
}

void Informer::dispatch_update(const ObjectPtr& old_object, const ObjectPtr& new_object) {
  for (const auto& h : handlers_) {
    if (h.on_update) guarded("update", [&] { h.on_update(old_object, new_object); });
  }
}

void Informer::dispatch_delete(const ObjectPtr& o) {
  for (const auto& h : handlers_) {
    if (h.on_delete) guarded("delete", [&] { h.on_delete(o); });
  }
}

void Informer::replace(std::vector<value> items, const std::string&) {
  std::set<std::string> present;
  for (auto& item : items) {
    auto obj = std::make_shared<const value>(lean(std::move(item)));
    present.insert(object_key(*obj));
    ObjectPtr old = store_.upsert(obj);
    if (!old) {
      dispatch_add(obj);
    } else if (meta_string(*old, "resourceVersion") != meta_string(*obj, "resourceVersion")) {
      dispatch_update(old, obj);
    }
  }
  for (const auto& key : store_.keys()) {
    if (present.count(key) != 0) continue;
    if (ObjectPtr gone = store_.erase(key)) dispatch_delete(gone);
  }
  if (!synced_.exchange(true)) {
    std::lock_guard lock(sync_mu_);
    sync_cv_.notify_all();
  }
}

void Informer::apply(const WatchEvent& event) {
  auto obj = std::make_shared<const value>(lean(event.object));
  if (event.type == "DELETED") {
    store_.erase(object_key(*obj));
    dispatch_delete(obj);  // the final state the server sent, even if the cache had missed the object
    return;
  }
  ObjectPtr old = store_.upsert(obj);
  if (old) {
    dispatch_update(old, obj);
  } else {
    dispatch_add(obj);
  }
}

}  // namespace wo::kube
