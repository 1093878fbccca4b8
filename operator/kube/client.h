// A REST client for any Kubernetes group/version/resource, over cpprestsdk.
//
// Objects are web::json::value. Every call is rate-limited (optional token bucket), counted and timed
// (rest_client_requests_total{verb,resource,code}, rest_client_request_duration_seconds{verb}), and fails with
// ApiError (the server's Status) or TransportError (no response). TLS is always verified against the
// cluster CA only, with the host checked against the certificate's DNS/IP SANs (never the CN).
//
// Retries: requests that are safe to repeat (GET, server-side apply and merge PATCH, PUT carrying a
// resourceVersion, DELETE) are sent once more, on a fresh connection pool, when no response arrived;
// this covers cpprestsdk's failing writes on a keep-alive connection the server closed (docs/client.md, "cpprestsdk
// behaviours the client works around"). Any request that got 401 is repeated once with a re-read token. POST (create)
// is never repeated.
//
// Per-request options (RequestOptions, set through a RequestScope) bound a request by a deadline or cancel
// it: leader election bounds its Lease requests by the renew deadline, and a controller's reconciles lose
// their requests in flight when the controller stops (leadership lost).
#pragma once

#include <cpprest/http_client.h>
#include <cpprest/json.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config.h"
#include "errors.h"
#include "rate_limiter.h"
#include "wo/clock.h"
#include "wo/metrics.h"

namespace wo::kube {

struct ResourceRef {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "deployments"
  bool namespaced = true;
  std::string kind = {};  // optional; informational (logs, events)

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1" or "/apis/group/version"
  std::string base_path() const;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 0;  // 0: no pagination
  std::string continue_token;
  std::string resource_version;  // "" = consistent read from etcd; "0" = any (watch cache)
};

struct DeleteOptions {
  std::string propagation_policy;             // "Foreground", "Background", "Orphan" or "" (server default)
  std::string precondition_uid;               // delete only this incarnation
  std::string precondition_resource_version;  // delete only this version
  std::optional<int> grace_period_seconds;
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  int timeout_seconds = 300;
  bool allow_bookmarks = true;
};

class WatchStream;

// Options for the requests a thread makes while a RequestScope holds them. A scope rather than a parameter
// of every call: the code between the one who sets the bound (leader election, a controller) and the
// requests (a reconciler) need not pass it along.
struct RequestOptions {
  // The request ends by then, its body read included: when the deadline passes the connection is closed
  // and the call throws TransportError. A bounded request is sent once (no retry after a transport error,
  // no waiting out a 429's Retry-After; a 429 is thrown as ApiError) and waits for the client-side rate
  // limit only if the wait ends before the deadline. Watches ignore it (they are long-lived by nature).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Cancelling it aborts the requests in flight (TransportError "canceled") and refuses later ones before
  // they are sent; a request waiting for the client-side rate limit or a 429's Retry-After stops waiting
  // at once and fails so too. Applies to watches too.
  pplx::cancellation_token cancel = pplx::cancellation_token::none();
};

// Applies options to every request the current thread makes while it lives. Scopes nest: the earliest
// deadline and every cancellation token apply.
class RequestScope {
 public:
  explicit RequestScope(RequestOptions options);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;
  // The options in force on this thread, or null.
  static const RequestOptions* current();

 private:
  RequestOptions options_;
  RequestScope* previous_;
  std::shared_ptr<void> link_;  // cancels options_.cancel when the outer scope's token is cancelled
};

struct ClientOptions {
  double qps = 0;  // client-side limit; 0 or less = off (rely on API Priority and Fairness)
  int burst = 10;
  std::chrono::seconds request_timeout{30};
  // Inactivity timeout of watch connections: how long a watch may deliver nothing at all before it is
  // taken for hung (a dead connection the kernel has not noticed) and resumed from its resourceVersion.
  // The API server sends every watcher that allows bookmarks one a minute (Kubernetes 1.27+), so 150 s
  // misses two; on older servers an idle watch is merely resumed every 150 s. client-go detects the same
  // with HTTP/2 pings (ReadIdleTimeout 30 s); cpprestsdk speaks HTTP/1.1.
  std::chrono::seconds watch_timeout{150};
  std::string user_agent = "worker-operator";
  metrics::Registry* metrics = nullptr;  // optional; must outlive the client
  // What the client-side rate limit and a 429's Retry-After are waited out on; must outlive the client.
  // (Deadlines and timeouts of requests in flight are real time: the network is.)
  const Clock* clock = &steady_clock();
};

class Client {
 public:
  Client(Config config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return config_; }

  // Namespace is ignored for cluster-scoped resources; for namespaced ones "" means all namespaces (list/watch).
  web::json::value get(const ResourceRef& r, const std::string& ns, const std::string& name);
  // One page; the returned List has items and metadata.{resourceVersion,continue}.
  web::json::value list_page(const ResourceRef& r, const std::string& ns, const ListOptions& options);
  // All pages (options.limit is the page size, 500 when 0); returns {items, metadata.resourceVersion}.
  // Each item carries kind and apiVersion, as a get or a watch event does (the server leaves them out of
  // list items): an object looks the same however it was read.
  web::json::value list(const ResourceRef& r, const std::string& ns, ListOptions options = {});
  web::json::value create(const ResourceRef& r, const std::string& ns, const web::json::value& object);
  // PUT of the whole object (name and, for optimistic concurrency, resourceVersion from its metadata).
  web::json::value update(const ResourceRef& r, const std::string& ns, const web::json::value& object);
  web::json::value update_status(const ResourceRef& r, const std::string& ns, const web::json::value& object);
  // Server-side apply; subresource "" or "status".
  web::json::value apply(const ResourceRef& r, const std::string& ns, const std::string& name,
                         const web::json::value& object, const std::string& field_manager, bool force = true,
                         const std::string& subresource = "");
  web::json::value merge_patch(const ResourceRef& r, const std::string& ns, const std::string& name,
                               const web::json::value& patch, const std::string& subresource = "");
  // Returns the server's answer (the object, or a Status when the deletion completed at once).
  web::json::value remove(const ResourceRef& r, const std::string& ns, const std::string& name,
                          const DeleteOptions& options = {});

  // Opens a watch (headers received, status checked); see watch.h. cancel stops it from another thread.
  std::unique_ptr<WatchStream> watch(const ResourceRef& r, const std::string& ns, const WatchOptions& options,
                                     const pplx::cancellation_token& cancel = pplx::cancellation_token::none());

  // "/apis/g/v/namespaces/ns/plural/name/sub" with empty parts left out.
  static std::string path(const ResourceRef& r, const std::string& ns, const std::string& name = "",
                          const std::string& subresource = "");

 private:
  struct Request {
    std::string verb;  // metrics label: get, list, watch, create, update, patch, apply, delete
    web::http::method method;
    std::string path_query;
    std::string body;
    std::string content_type;
    bool retry_safe = false;
    std::string context;   // "get apps/v1 deployments ns/name", for errors
    std::string resource;  // metrics label: "deployments", "workerjobs/status"
  };
  class Bound;  // the cancellation and deadline of one request
  web::json::value call(const Request& request);
  web::http::http_response send(const Request& request, bool watch, const Bound& bound);
  // Waits for the client-side rate limit's token, ending early (throwing TransportError) when the
  // request is cancelled or the wait would pass its deadline.
  void wait_for_rate_limit(const Request& request, const Bound& bound);
  // Waits out a 429's Retry-After (at most 10 s); throws TransportError when the request is cancelled first.
  void wait_retry_after(const Request& request, const web::http::http_response& response, const Bound& bound);
  web::http::http_request build(const Request& request);
  std::shared_ptr<web::http::client::http_client> http(bool watch);
  void note_transport(bool failed);
  void observe(const Request& request, const std::string& code, std::chrono::steady_clock::duration took);

  Config config_;
  ClientOptions options_;
  TokenBucket limiter_;
  std::mutex mu_;
  std::shared_ptr<web::http::client::http_client> api_, watch_;
  int consecutive_transport_failures_ = 0;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  metrics::Family<metrics::Histogram>* durations_ = nullptr;
};

// A list page's items, taken out of it, each given kind and apiVersion as a get or a watch event has
// them (the server states them once, on the list, and leaves them out of the items; r's stand in when
// the page lacks them too).
std::vector<web::json::value> take_items(web::json::value& page, const ResourceRef& r);

// A new object's metadata helpers, used across the client, informers and controllers.
std::string meta_string(const web::json::value& object, const char* field);  // metadata.<field> or ""
// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string object_key(const web::json::value& object);

}  // namespace wo::kube
