#include "client.h"

#include <cpprest/uri_builder.h>

#include <algorithm>
#include <condition_variable>
#include <stop_token>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "tls.h"
#include "watch.h"
#include "wo/log.h"
#include "wo/metrics.h"

namespace wo::kube {
namespace {

using web::http::methods;
using web::json::value;

// After this many transport failures in a row the HTTP clients are rebuilt: cpprestsdk can leave a
// client unusable after a server restart (docs/client.md, "cpprestsdk behaviours the client works around").
constexpr int kRecreateAfterFailures = 3;
constexpr auto kMaxRetryAfter = std::chrono::seconds(10);

// The resource label of the request metrics: "deployments", or "workerjobs/status" for a subresource.
std::string resource_label(const ResourceRef& r, const std::string& subresource) {
  return subresource.empty() ? r.plural : r.plural + "/" + subresource;
}

std::string describe(const std::string& verb, const ResourceRef& r, const std::string& ns, const std::string& name) {
  std::string out = verb + " " + r.api_version() + " " + r.plural;
  if (!ns.empty() || !name.empty()) out += " ";
  if (!ns.empty()) out += ns + "/";
  return out + name;
}

std::string with_query(const std::string& path, std::initializer_list<std::pair<std::string, std::string>> query) {
  web::uri_builder b(path);
  for (const auto& [k, v] : query) {
    if (!v.empty()) b.append_query(k, v);
  }
  return b.to_string();
}

std::string name_of(const value& object, const std::string& context) {
  std::string name = meta_string(object, "name");
  if (name.empty()) throw std::invalid_argument(context + ": object has no metadata.name");
  return name;
}

thread_local RequestScope* current_scope = nullptr;

// A cancellation source cancelled when any of some tokens is. Unlike pplx's create_linked_source, it
// deregisters from those tokens when it goes away: a controller's token outlives millions of requests,
// and each linked source would otherwise stay registered on it for good.
class LinkedSource {
 public:
  explicit LinkedSource(const std::vector<pplx::cancellation_token>& parents) {
    for (const auto& p : parents) {
      if (!p.is_cancelable()) continue;
      pplx::cancellation_token parent = p;
      // Copies share the cancellation and stop states: the callback never touches this object.
      auto source = source_;
      auto stop = stop_;
      registrations_.emplace_back(parent, parent.register_callback([source, stop]() mutable {
        source.cancel();
        stop.request_stop();
      }));
    }
  }
  ~LinkedSource() {
    for (auto& [parent, registration] : registrations_) parent.deregister_callback(registration);
  }
  LinkedSource(const LinkedSource&) = delete;
  LinkedSource& operator=(const LinkedSource&) = delete;
  const pplx::cancellation_token_source& source() const { return source_; }
  // Cancels the source's token and stops stop_token(): both are cancelled only through here and the
  // parents' callbacks.
  void cancel() {
    source_.cancel();
    stop_.request_stop();
  }
  // Stopped with the source's token: what the client's waits on its clock end on.
  std::stop_token stop_token() const { return stop_.get_token(); }

 private:
  std::stop_source stop_;
  pplx::cancellation_token_source source_;
  std::vector<std::pair<pplx::cancellation_token, pplx::cancellation_token_registration>> registrations_;
};

}  // namespace

RequestScope::RequestScope(RequestOptions options) : options_(std::move(options)), previous_(current_scope) {
  if (previous_ != nullptr) {
    const RequestOptions& outer = previous_->options_;
    if (outer.deadline && (!options_.deadline || *outer.deadline < *options_.deadline)) {
      options_.deadline = outer.deadline;
    }
    if (outer.cancel.is_cancelable() && options_.cancel.is_cancelable()) {
      auto link = std::make_shared<LinkedSource>(std::vector{outer.cancel, options_.cancel});
      options_.cancel = link->source().get_token();
      link_ = std::move(link);
    } else if (outer.cancel.is_cancelable()) {
      options_.cancel = outer.cancel;
    }
  }
  current_scope = this;
}

RequestScope::~RequestScope() {
  current_scope = previous_;
}

const RequestOptions* RequestScope::current() {
  return current_scope != nullptr ? &current_scope->options_ : nullptr;
}

// One request's cancellation: the caller's token, the scope's, and with a deadline a timer thread that
// cancels the request when it passes (cpprestsdk's own timeout is an inactivity timeout per HTTP client,
// which a slow trickle of bytes or a retry stretches past any deadline).
class Client::Bound {
 public:
  Bound(const pplx::cancellation_token& caller, bool watch) {
    const RequestOptions* scope = RequestScope::current();
    const pplx::cancellation_token from_scope = scope != nullptr ? scope->cancel : pplx::cancellation_token::none();
    // Nothing can cancel it (no token, no deadline): the common request needs no link and no source.
    const bool deadline_applies = !watch && scope != nullptr && scope->deadline.has_value();
    if (!caller.is_cancelable() && !from_scope.is_cancelable() && !deadline_applies) return;
    link_ = std::make_shared<LinkedSource>(std::vector{caller, from_scope});
    token_ = link_->source().get_token();
    // A watch's stream outlives this object and keeps reading under the token (it keeps link_ alive).
    if (!deadline_applies) return;
    deadline_ = scope->deadline;
    if (*deadline_ <= std::chrono::steady_clock::now()) {
      expired_ = true;
      link_->cancel();
      return;
    }
    timer_ = std::jthread([this](std::stop_token disarmed) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_until(lock, disarmed, *deadline_, [] { return false; });
      if (disarmed.stop_requested()) return;
      expired_ = true;
      link_->cancel();
    });
  }
  ~Bound() = default;  // the jthread disarms and joins the timer first (declared last)
  const std::shared_ptr<LinkedSource>& link() const { return link_; }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;

  const pplx::cancellation_token& token() const { return token_; }
  // The same cancellation for waits on a Clock (never stopped when nothing can cancel the request).
  std::stop_token stop() const { return link_ != nullptr ? link_->stop_token() : std::stop_token(); }
  bool canceled() const { return token_.is_canceled(); }
  bool bounded() const { return deadline_.has_value(); }
  std::optional<std::chrono::steady_clock::time_point> deadline() const { return deadline_; }
  // Why the request was cancelled, for its error.
  std::string why() const { return expired_ ? "no answer before the request's deadline" : "canceled"; }

 private:
  std::shared_ptr<LinkedSource> link_;
  pplx::cancellation_token token_ = pplx::cancellation_token::none();
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::atomic<bool> expired_{false};
  std::jthread timer_;
};

std::string ResourceRef::base_path() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string meta_string(const value& object, const char* field) {
  if (!object.is_object() || !object.has_field("metadata")) return {};
  const value& meta = object.at("metadata");
  if (!meta.is_object() || !meta.has_field(field) || !meta.at(field).is_string()) return {};
  return meta.at(field).as_string();
}

std::string object_key(const value& object) {
  const std::string ns = meta_string(object, "namespace");
  const std::string name = meta_string(object, "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::string Client::path(const ResourceRef& r, const std::string& ns, const std::string& name,
                         const std::string& subresource) {
  std::string p = r.base_path();
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + web::uri::encode_data_string(ns);
  p += "/" + r.plural;
  if (!name.empty()) p += "/" + web::uri::encode_data_string(name);
  if (!subresource.empty()) p += "/" + subresource;
  return p;
}

Client::Client(Config config, ClientOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      limiter_(options_.qps, options_.burst, *options_.clock) {
  if (config_.server.rfind("https://", 0) != 0) {
    throw ConfigError(config_.source + ": server " + config_.server + " is not https://");
  }
  if (config_.ca_pem.empty()) throw ConfigError(config_.source + ": no cluster CA; TLS must be verified");
  if (options_.metrics != nullptr) {
    requests_ = &options_.metrics->counter(
        "rest_client_requests_total",
        "API server requests by verb, resource and HTTP status code (\"<error>\": no response).",
        {"verb", "resource", "code"});
    durations_ =
        &options_.metrics->histogram("rest_client_request_duration_seconds",
                                     "API server request latency until the response headers, by verb.", {"verb"});
  }
}

Client::~Client() = default;

std::shared_ptr<web::http::client::http_client> Client::http(bool watch) {
  std::lock_guard lock(mu_);
  auto& slot = watch ? watch_ : api_;
  if (!slot) {
    auto cfg = tls_http_config(config_);
    cfg.set_timeout(watch ? options_.watch_timeout : options_.request_timeout);
    slot = std::make_shared<web::http::client::http_client>(config_.server, cfg);
  }
  return slot;
}

void Client::note_transport(bool failed) {
  std::lock_guard lock(mu_);
  if (!failed) {
    consecutive_transport_failures_ = 0;
    return;
  }
  if (++consecutive_transport_failures_ >= kRecreateAfterFailures) {
    // Users of the old clients keep them alive through their shared_ptr copies.
    api_.reset();
    watch_.reset();
    consecutive_transport_failures_ = 0;
  }
}

void Client::observe(const Request& rq, const std::string& code, std::chrono::steady_clock::duration took) {
  if (requests_ == nullptr) return;
  requests_->with({rq.verb, rq.resource, code}).inc();
  durations_->with({rq.verb}).observe(std::chrono::duration<double>(took).count());
}

web::http::http_request Client::build(const Request& rq) {
  web::http::http_request req(rq.method);
  req.set_request_uri(rq.path_query);
  req.headers().add(web::http::header_names::accept, "application/json");
  req.headers().add(web::http::header_names::user_agent, options_.user_agent);
  if (!config_.token.empty())
    req.headers().add(web::http::header_names::authorization, "Bearer " + config_.token.token());
  if (!rq.content_type.empty()) req.set_body(rq.body, rq.content_type);
  return req;
}

web::http::http_response Client::send(const Request& rq, bool watch, const Bound& bound) {
  bool retried_transport = false, retried_auth = false;
  for (;;) {
    wait_for_rate_limit(rq, bound);
    // Refused before it is sent: nothing reached the server, nothing is counted.
    if (bound.canceled()) throw TransportError(rq.context + ": " + bound.why());
    const auto start = std::chrono::steady_clock::now();
    web::http::http_response resp;
    try {
      resp = http(watch)->request(build(rq), bound.token()).get();
    } catch (const ConfigError& e) {
      throw TransportError(rq.context + ": " + e.what());  // the token file cannot be read
    } catch (const std::exception& e) {
      // http_exception, or boost::system::system_error from the TLS callback, or task_canceled.
      observe(rq, "<error>", std::chrono::steady_clock::now() - start);
      if (bound.canceled()) throw TransportError(rq.context + ": " + bound.why());
      note_transport(true);
      // A bounded request is not sent again: its caller needs an answer by the deadline, and decides.
      if (rq.retry_safe && !retried_transport && !bound.bounded()) {
        retried_transport = true;
        // The pool may hold several connections the server closed while idle: retry on a fresh client.
        {
          std::lock_guard lock(mu_);
          (watch ? watch_ : api_).reset();
        }
        wo::log::debug("retrying API request after a transport error", {{"request", rq.context}, {"error", e.what()}});
        continue;
      }
      throw TransportError(rq.context + ": " + e.what());
    }
    note_transport(false);
    observe(rq, std::to_string(resp.status_code()), std::chrono::steady_clock::now() - start);
    if (resp.status_code() == web::http::status_codes::Unauthorized && config_.token.refreshable() && !retried_auth) {
      retried_auth = true;  // the token file may have rotated, or the plugin's token been revoked, since we read it
      config_.token.invalidate();
      continue;
    }
    return resp;
  }
}

void Client::wait_for_rate_limit(const Request& rq, const Bound& bound) {
  if (!bound.bounded()) {
    if (!limiter_.wait(bound.stop())) throw TransportError(rq.context + ": " + bound.why());
    return;
  }
  const auto wait = limiter_.reserve();
  if (wait <= Clock::duration::zero()) return;
  // The deadline is real time (it bounds the network); the wait is on the client's clock.
  if (std::chrono::steady_clock::now() + wait >= *bound.deadline()) {
    throw TransportError(rq.context + ": the client-side rate limit leaves no time before the request's deadline");
  }
  if (!options_.clock->sleep_for(bound.stop(), wait)) throw TransportError(rq.context + ": " + bound.why());
}

void Client::wait_retry_after(const Request& rq, const web::http::http_response& resp, const Bound& bound) {
  std::chrono::seconds wait{1};
  if (const auto header = resp.headers().find("Retry-After"); header != resp.headers().end()) {
    try {
      wait = std::chrono::seconds(std::stoi(header->second));
    } catch (const std::exception&) {  // an HTTP date, or garbage: the default wait
    }
  }
  if (!options_.clock->sleep_for(bound.stop(), std::clamp(wait, std::chrono::seconds(0), kMaxRetryAfter))) {
    throw TransportError(rq.context + ": waiting out a 429's Retry-After: " + bound.why());
  }
}

value Client::call(const Request& rq) {
  const Bound bound(pplx::cancellation_token::none(), false);
  bool waited_429 = false;
  for (;;) {
    web::http::http_response resp = send(rq, false, bound);
    std::string body;
    try {
      body = resp.extract_string(true).get();
    } catch (const std::exception& e) {
      if (bound.canceled()) throw TransportError(rq.context + ": reading the response body: " + bound.why());
      throw TransportError(rq.context + ": reading the response body: " + e.what());
    }
    const int code = resp.status_code();
    if (code >= 200 && code < 300) {
      if (body.empty()) return value::null();
      try {
        return value::parse(body);
      } catch (const std::exception& e) {
        throw TransportError(rq.context + ": response is not JSON: " + e.what());
      }
    }
    if (code == web::http::status_codes::TooManyRequests && !waited_429 && !bound.bounded()) {
      // 429: the server did not process the request; wait as told (bounded) and send it once more.
      waited_429 = true;
      wait_retry_after(rq, resp, bound);
      continue;
    }
    throw ApiError::from_response(code, body, rq.context);
  }
}

value Client::get(const ResourceRef& r, const std::string& ns, const std::string& name) {
  return call({"get", methods::GET, path(r, ns, name), "", "", true, describe("get", r, ns, name), r.plural});
}

value Client::list_page(const ResourceRef& r, const std::string& ns, const ListOptions& o) {
  const std::string q = with_query(path(r, ns), {{"labelSelector", o.label_selector},
                                                 {"fieldSelector", o.field_selector},
                                                 {"limit", o.limit > 0 ? std::to_string(o.limit) : ""},
                                                 {"continue", o.continue_token},
                                                 {"resourceVersion", o.resource_version}});
  return call({"list", methods::GET, q, "", "", true, describe("list", r, ns, ""), r.plural});
}

namespace {

// The kind and apiVersion a list's items have: the server states them once, on the list ("ConfigMapList",
// "v1"), and leaves them out of the items; the ResourceRef's stand in when a page lacks them.
std::pair<std::string, std::string> item_type(const value& page, const ResourceRef& r) {
  constexpr std::string_view kListSuffix = "List";
  std::string kind = r.kind;
  if (page.has_field("kind") && page.at("kind").is_string()) {
    const std::string& list_kind = page.at("kind").as_string();
    if (list_kind.size() > kListSuffix.size() && list_kind.ends_with(kListSuffix)) {
      kind = list_kind.substr(0, list_kind.size() - kListSuffix.size());
    }
  }
  const bool has_api_version = page.has_field("apiVersion") && page.at("apiVersion").is_string();
  return {kind, has_api_version ? page.at("apiVersion").as_string() : r.api_version()};
}

}  // namespace

std::vector<value> take_items(value& page, const ResourceRef& r) {
  std::vector<value> out;
  if (!page.is_object() || !page.has_field("items") || !page.at("items").is_array()) return out;
  const auto [kind, api_version] = item_type(page, r);
  auto& items = page.at("items").as_array();
  out.reserve(items.size());
  for (auto& item : items) {
    if (item.is_object() && !item.has_field("apiVersion")) item["apiVersion"] = value::string(api_version);
    if (item.is_object() && !item.has_field("kind") && !kind.empty()) item["kind"] = value::string(kind);
    out.push_back(std::move(item));
  }
  return out;
}

value Client::list(const ResourceRef& r, const std::string& ns, ListOptions o) {
  if (o.limit <= 0) o.limit = 500;
  value items = value::array();
  size_t n = 0;
  std::string rv;
  for (;;) {
    value page;
    try {
      page = list_page(r, ns, o);
    } catch (const ApiError& e) {
      if (!e.is_gone() || o.continue_token.empty()) throw;
      // The continue token expired (~5 min): start over with one unpaginated consistent list.
      wo::log::warn("list continue token expired; listing again without pagination",
                    {{"resource", r.plural}, {"namespace", ns}});
      o.continue_token.clear();
      o.limit = 0;
      items = value::array();
      n = 0;
      continue;
    }
    for (auto& item : take_items(page, r)) items[n++] = std::move(item);
    const value meta = page.has_field("metadata") ? page.at("metadata") : value::object();
    rv = meta.has_field("resourceVersion") ? meta.at("resourceVersion").as_string() : "";
    o.continue_token =
        meta.has_field("continue") && meta.at("continue").is_string() ? meta.at("continue").as_string() : "";
    if (o.continue_token.empty()) break;
  }
  value out = value::object();
  out["items"] = std::move(items);
  out["metadata"] = value::object();
  out["metadata"]["resourceVersion"] = value::string(rv);
  return out;
}

value Client::create(const ResourceRef& r, const std::string& ns, const value& object) {
  const std::string ctx = describe("create", r, ns, meta_string(object, "name"));
  return call({"create", methods::POST, path(r, ns), object.serialize(), "application/json", false, ctx, r.plural});
}

value Client::update(const ResourceRef& r, const std::string& ns, const value& object) {
  const std::string ctx = describe("update", r, ns, meta_string(object, "name"));
  const std::string name = name_of(object, ctx);
  const bool safe = !meta_string(object, "resourceVersion").empty();
  return call({"update", methods::PUT, path(r, ns, name), object.serialize(), "application/json", safe, ctx, r.plural});
}

value Client::update_status(const ResourceRef& r, const std::string& ns, const value& object) {
  const std::string ctx = describe("update status", r, ns, meta_string(object, "name"));
  const std::string name = name_of(object, ctx);
  const bool safe = !meta_string(object, "resourceVersion").empty();
  return call({"update", methods::PUT, path(r, ns, name, "status"), object.serialize(), "application/json", safe, ctx,
               r.plural + "/status"});
}

value Client::apply(const ResourceRef& r, const std::string& ns, const std::string& name, const value& object,
                    const std::string& field_manager, bool force, const std::string& subresource) {
  if (field_manager.empty()) throw std::invalid_argument("server-side apply needs a field manager");
  const std::string q =
      with_query(path(r, ns, name, subresource), {{"fieldManager", field_manager}, {"force", force ? "true" : ""}});
  // JSON is YAML: no YAML emitting (docs/client.md).
  return call({"apply", methods::PATCH, q, object.serialize(), "application/apply-patch+yaml", true,
               describe("apply", r, ns, name + (subresource.empty() ? "" : "/" + subresource)),
               resource_label(r, subresource)});
}

value Client::merge_patch(const ResourceRef& r, const std::string& ns, const std::string& name, const value& patch,
                          const std::string& subresource) {
  return call({"patch", methods::PATCH, path(r, ns, name, subresource), patch.serialize(),
               "application/merge-patch+json", true,
               describe("patch", r, ns, name + (subresource.empty() ? "" : "/" + subresource)),
               resource_label(r, subresource)});
}

value Client::remove(const ResourceRef& r, const std::string& ns, const std::string& name, const DeleteOptions& o) {
  value body = value::object();
  body["apiVersion"] = value::string("v1");
  body["kind"] = value::string("DeleteOptions");
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = value::string(o.propagation_policy);
  if (o.grace_period_seconds) body["gracePeriodSeconds"] = value::number(*o.grace_period_seconds);
  if (!o.precondition_uid.empty() || !o.precondition_resource_version.empty()) {
    body["preconditions"] = value::object();
    if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = value::string(o.precondition_uid);
    if (!o.precondition_resource_version.empty()) {
      body["preconditions"]["resourceVersion"] = value::string(o.precondition_resource_version);
    }
  }
  return call({"delete", methods::DEL, path(r, ns, name), body.serialize(), "application/json", true,
               describe("delete", r, ns, name), r.plural});
}

std::unique_ptr<WatchStream> Client::watch(const ResourceRef& r, const std::string& ns, const WatchOptions& o,
                                           const pplx::cancellation_token& cancel) {
  const std::string q = with_query(path(r, ns), {{"watch", "true"},
                                                 {"resourceVersion", o.resource_version},
                                                 {"labelSelector", o.label_selector},
                                                 {"fieldSelector", o.field_selector},
                                                 {"allowWatchBookmarks", o.allow_bookmarks ? "true" : ""},
                                                 {"timeoutSeconds", std::to_string(o.timeout_seconds)}});
  const Request rq{"watch", methods::GET, q, "", "", true, describe("watch", r, ns, ""), r.plural};
  auto client = http(true);  // kept alive by the stream even if the client is rebuilt meanwhile
  const Bound bound(cancel, true);
  web::http::http_response resp = send(rq, true, bound);
  if (resp.status_code() != web::http::status_codes::OK) {
    std::string body;
    try {
      body = resp.extract_string(true).get();
    } catch (const std::exception&) {
    }
    throw ApiError::from_response(resp.status_code(), body, rq.context);
  }
  return std::make_unique<WatchStream>(std::move(client), resp, rq.context, bound.link());
}

}  // namespace wo::kube
