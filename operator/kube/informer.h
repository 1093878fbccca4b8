// An informer: a Reflector (list + watch, on its own thread) feeding an indexed Store of lean objects
// and calling event handlers. The client-go shape, minus resync (use RequeueAfter for periodic work).
//
// Each object is stored lean (store.h) and, when options.transform is set, as that transform leaves it:
// a controller's projection of what it reads, so that a cache of Pods is not a cache of pod specs.
//
// Given a list of namespaces, it runs one Reflector per namespace into the one store (a multi-namespace
// cache, for an operator whose RBAC is Roles in those namespaces only): nothing is listed or watched
// cluster-wide, a relist of one namespace replaces only that namespace's objects, and the informer has
// synced once every namespace has been listed.
//
// Why in kube/ and not runtime/: it is a client-side cache of any resource, built only on the REST
// client and watch; controllers (runtime/) consume it through handlers and the store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "store.h"
#include "watch.h"

namespace wo::kube {

// Handlers run on the informer's thread, one event at a time, in the order the server sent them:
// keep them quick (enqueue a key). A delete is also delivered for objects that vanished while the
// watch was down (found missing at a relist); then the object is the last state the cache knew.
struct EventHandlers {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;
};

class Informer {
 public:
  // namespaces: empty to list and watch options.namespace_ (all namespaces when that is empty too);
  // otherwise each of them, and options.namespace_ must be empty.
  Informer(Client& client, const ReflectorOptions& options, std::vector<std::string> namespaces = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Configure before start().
  void add_handlers(EventHandlers handlers);
  void add_index(const std::string& name, IndexFunc func) { store_.add_index(name, std::move(func)); }

  void start();
  void stop();  // prompt; idempotent

  const Store& store() const { return store_; }
  const ReflectorOptions& options() const { return options_; }
  // The first namespace's reflector (the only one unless namespaces were given); for tests and metrics.
  const Reflector& reflector() const;
  // True once the first list of every namespace has been stored and its events delivered.
  bool has_synced() const { return synced_.load(); }
  // Why the last list or watch failed, if it did since the last successful list (see Reflector); the
  // first namespace's that has one.
  std::optional<ListWatchError> last_error() const;
  // Waits for has_synced(); false on timeout or stop.
  bool wait_for_sync(std::chrono::milliseconds timeout, std::stop_token stop = {}) const;

 private:
  struct NamespaceWatch;  // one reflector, its namespace and its thread

  // What the store keeps of an object: lean(), then options_.transform.
  ObjectPtr keep(web::json::value object) const;
  // From the reflectors' threads; dispatch_mu_ keeps handlers to one event at a time. A list's pages are
  // stored as they arrive (an add or an update each); its end removes the namespace's objects no page
  // named (a delete each) and counts the namespace as listed.
  void begin_list(NamespaceWatch& from);
  void list_page(NamespaceWatch& from, std::vector<web::json::value> items);
  void end_list(NamespaceWatch& from);
  // Deletes what this namespace's list did not name, and marks the namespace listed.
  void sweep_unlisted(NamespaceWatch& from);
  void apply(WatchEvent event);
  void dispatch_add(const ObjectPtr& o);
  void dispatch_update(const ObjectPtr& old_object, const ObjectPtr& new_object);
  void dispatch_delete(const ObjectPtr& o);

  ReflectorOptions options_;
  Store store_;
  std::vector<EventHandlers> handlers_;
  std::mutex dispatch_mu_;
  std::size_t listed_ = 0;  // namespaces listed at least once (under dispatch_mu_)
  std::atomic<bool> synced_{false};
  mutable std::mutex sync_mu_;
  mutable std::condition_variable_any sync_cv_;
  std::vector<std::unique_ptr<NamespaceWatch>> watches_;  // last: their threads use the rest
};

}  // namespace wo::kube
