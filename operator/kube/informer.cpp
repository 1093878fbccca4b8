#include "informer.h"

#include <malloc.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

#include "wo/log.h"

namespace wo::kube {

using web::json::value;

struct Informer::NamespaceWatch final : ReflectorSink {
  NamespaceWatch(Informer& owner, Client& client, ReflectorOptions options)
      : owner(owner), namespace_(options.namespace_), reflector(client, std::move(options), *this) {}
  void begin_list() override { owner.begin_list(*this); }
  void list_page(std::vector<value> items) override { owner.list_page(*this, std::move(items)); }
  void end_list(const std::string&) override { owner.end_list(*this); }
  void apply(WatchEvent event) override { owner.apply(std::move(event)); }

  Informer& owner;
  std::string namespace_;
  Reflector reflector;
  bool listed = false;         // under owner.dispatch_mu_
  std::set<std::string> seen;  // keys the list under way has named so far (under owner.dispatch_mu_)
  std::jthread thread;
};

Informer::Informer(Client& client, const ReflectorOptions& options, std::vector<std::string> namespaces)
    : options_(options) {
  if (!namespaces.empty() && !options.namespace_.empty()) {
    throw std::invalid_argument("informer for " + options.resource.plural +
                                ": give namespaces or namespace_, not both");
  }
  if (namespaces.empty()) namespaces.push_back(options.namespace_);
  std::sort(namespaces.begin(), namespaces.end());
  namespaces.erase(std::unique(namespaces.begin(), namespaces.end()), namespaces.end());
  for (auto& ns : namespaces) {
    ReflectorOptions per_namespace = options;
    per_namespace.namespace_ = std::move(ns);
    watches_.push_back(std::make_unique<NamespaceWatch>(*this, client, std::move(per_namespace)));
  }
}

Informer::~Informer() {
  stop();
}

const Reflector& Informer::reflector() const {
  return watches_.front()->reflector;
}

std::optional<ListWatchError> Informer::last_error() const {
  for (const auto& w : watches_) {
    if (auto error = w->reflector.last_error()) return error;
  }
  return std::nullopt;
}

void Informer::add_handlers(EventHandlers handlers) {
  handlers_.push_back(std::move(handlers));
}

void Informer::start() {
  if (watches_.front()->thread.joinable()) return;
  // Resuming from a kept resourceVersion: the consumer already has the state; no list will come.
  if (!options_.start_resource_version.empty()) synced_ = true;
  for (auto& w : watches_) {
    w->thread = std::jthread([&reflector = w->reflector](std::stop_token stop) { reflector.run(stop); });
  }
}

void Informer::stop() {
  if (!watches_.front()->thread.joinable()) return;
  for (auto& w : watches_) w->thread.request_stop();  // all at once: each ends its watch promptly
  for (auto& w : watches_) w->thread.join();
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

ObjectPtr Informer::keep(value object) const {
  value kept = lean(std::move(object));
  if (options_.transform) kept = options_.transform(std::move(kept));
  // A copy, not a move: the parser grew each object's field vector by doubling, and a copy allocates
  // exactly what the fields need. The object is kept for as long as it exists; the copy is made once.
  return std::make_shared<const value>(static_cast<const value&>(kept));
}

void Informer::begin_list(NamespaceWatch& from) {
  std::lock_guard dispatching(dispatch_mu_);
  from.seen.clear();  // a list that failed midway named objects that a new list must name again
}

void Informer::list_page(NamespaceWatch& from, std::vector<value> items) {
  std::lock_guard dispatching(dispatch_mu_);
  for (auto& item : items) {
    ObjectPtr obj = keep(std::move(item));
    from.seen.insert(object_key(*obj));
    ObjectPtr old = store_.upsert(obj);
    if (!old) {
      dispatch_add(obj);
    } else if (meta_string(*old, "resourceVersion") != meta_string(*obj, "resourceVersion")) {
      dispatch_update(old, obj);
    }
  }
}

void Informer::end_list(NamespaceWatch& from) {
  sweep_unlisted(from);
  // The list's pages were parsed into large JSON trees and freed, page by page; glibc keeps such freed
  // memory in its arenas, so without this the process holds its peak list size for good. A full list is
  // rare (start-up, an expired resourceVersion), and a trim costs milliseconds.
  malloc_trim(0);
}

void Informer::sweep_unlisted(NamespaceWatch& from) {
  std::lock_guard dispatching(dispatch_mu_);
  // Only this list's namespace was listed: the other namespaces' objects stay.
  const std::string prefix = from.namespace_.empty() ? "" : from.namespace_ + "/";
  for (const auto& key : store_.keys()) {
    if (from.seen.count(key) != 0 || key.compare(0, prefix.size(), prefix) != 0) continue;
    if (ObjectPtr gone = store_.erase(key)) dispatch_delete(gone);
  }
  from.seen.clear();
  if (!std::exchange(from.listed, true)) ++listed_;
  if (listed_ == watches_.size() && !synced_.exchange(true)) {
    std::lock_guard lock(sync_mu_);
    sync_cv_.notify_all();
  }
}

void Informer::apply(WatchEvent event) {
  std::lock_guard dispatching(dispatch_mu_);
  ObjectPtr obj = keep(std::move(event.object));
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
