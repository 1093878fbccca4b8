// An informer: a Reflector (list + watch, on its own thread) feeding an indexed Store of lean objects
// and calling event handlers. The client-go shape, minus resync (use RequeueAfter for periodic work).
//
// Why in kube/ and not runtime/: it is a client-side cache of any resource, built only on the REST
// client and watch; controllers (runtime/) consume it through handlers and the store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
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

class Informer : private ReflectorSink {
 public:
  Informer(Client& client, ReflectorOptions options);
  ~Informer() override;
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Configure before start().
  void add_handlers(EventHandlers handlers);
  void add_index(const std::string& name, IndexFunc func) { store_.add_index(name, std::move(func)); }

  void start();
  void stop();  // prompt; idempotent

  const Store& store() const { return store_; }
  const ReflectorOptions& options() const { return options_; }
  const Reflector& reflector() const { return reflector_; }
  // True once the first list has been stored and its events delivered.
  bool has_synced() const { return synced_.load(); }
  // Why the last list or watch failed, if it did since the last successful list (see Reflector).
  std::optional<ListWatchError> last_error() const { return reflector_.last_error(); }
  // Waits for has_synced(); false on timeout or stop.
  bool wait_for_sync(std::chrono::milliseconds timeout, std::stop_token stop = {}) const;

 private:
  void replace(std::vector<web::json::value> items, const std::string& resource_version) override;
  void apply(const WatchEvent& event) override;
  void dispatch_add(const ObjectPtr& o);
  void dispatch_update(const ObjectPtr& old_object, const ObjectPtr& new_object);
  void dispatch_delete(const ObjectPtr& o);

  ReflectorOptions options_;
  Store store_;
  Reflector reflector_;
  std::vector<EventHandlers> handlers_;
  std::atomic<bool> synced_{false};
  mutable std::mutex sync_mu_;
  mutable std::condition_variable_any sync_cv_;
  std::jthread thread_;
};

}  // namespace wo::kube
