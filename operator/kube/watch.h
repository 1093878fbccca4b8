// Watching: a streaming line reader, decoded watch events, and the Reflector that keeps a consumer in
// step with the server (list, then watch from the list's resourceVersion; resume after every
// disconnect from the last resourceVersion seen, bookmarks included; relist only on 410 Gone/Expired;
// back off on errors, on watches that end at once without an event, and before relists; stop promptly).
#pragma once

#include <cpprest/http_client.h>
#include <cpprest/json.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "client.h"
#include "wo/clock.h"

namespace wo::kube {

// Reads '\n'-terminated lines from a response body as they arrive, never waiting for more bytes than are
// available (cpprest's getn(N) waits for N bytes) and never holding more than one partial line.
class LineReader {
 public:
  explicit LineReader(const concurrency::streams::istream& body, size_t max_line = size_t{64} * 1024 * 1024);
  // false at a clean end of stream; throws what the stream throws (http_exception, cancellation) and
  // std::length_error for a line longer than max_line.
  bool next(std::string& line);

 private:
  concurrency::streams::streambuf<uint8_t> sb_;
  std::string pending_;
  std::vector<uint8_t> buf_;
  size_t max_line_;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  web::json::value object;
};

// One open watch response. Holds the http_client that carries it.
class WatchStream {
 public:
  // keep_alive: what the stream's cancellation needs while it is read (the client's link of its tokens).
  WatchStream(std::shared_ptr<web::http::client::http_client> client, web::http::http_response response,
              std::string context, std::shared_ptr<void> keep_alive = {});
  // false when the server ended the watch (timeoutSeconds); throws TransportError on a cut connection,
  // a timeout or cancellation, and on a line that is not a watch event.
  bool next(WatchEvent& event);

 private:
  std::shared_ptr<void> keep_alive_;  // destroyed last
  std::shared_ptr<web::http::client::http_client> client_;
  web::http::http_response response_;
  LineReader reader_;
  std::string context_;
};

// Exponential backoff with jitter: initial, doubling, capped; reset after `reset_after` without failures.
class Backoff {
 public:
  // `clock` measures reset_after; it must outlive the backoff.
  Backoff(std::chrono::milliseconds initial = std::chrono::milliseconds(800),
          std::chrono::milliseconds cap = std::chrono::seconds(30),
          std::chrono::milliseconds reset_after = std::chrono::minutes(2), const Clock& clock = steady_clock());
  std::chrono::milliseconds next();  // the delay to wait now, jittered in [d, 2d) and capped
  void reset() { current_ = std::chrono::milliseconds(0); }

 private:
  const Clock& clock_;
  std::chrono::milliseconds initial_, cap_, reset_after_, current_{0};
  Clock::time_point last_{};
  std::mt19937_64 rng_{std::random_device{}()};
};

// What a Reflector feeds. A (re)list arrives page by page, so that neither the reflector nor its sink
// ever holds a whole list besides what the sink keeps: begin_list(), list_page() for each page as it
// arrives, then end_list() once the last page is in. Only then is the list complete, and objects the
// sink had that no page named are gone. A list that fails midway (a network error, a continue token
// that expired) ends without end_list(); the next list begins with begin_list() again.
class ReflectorSink {
 public:
  virtual ~ReflectorSink() = default;
  virtual void begin_list() = 0;
  // One page's items, each carrying kind and apiVersion (as a watch event's object does).
  virtual void list_page(std::vector<web::json::value> items) = 0;
  virtual void end_list(const std::string& resource_version) = 0;
  // ADDED, MODIFIED or DELETED; the sink takes the object (an informer stores it without a copy).
  virtual void apply(WatchEvent event) = 0;
};

// What an informer keeps of each object, applied after lean() and before the object is stored and
// handed to event handlers: a projection to the fields its controller reads (kube::project).
using ObjectTransform = std::function<web::json::value(web::json::value)>;

struct ReflectorOptions {
  ResourceRef resource;
  std::string namespace_;  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
  int min_watch_timeout_seconds = 300;  // each watch asks for a random timeoutSeconds in [min, 2*min]
  // Skip the initial list and watch from this resourceVersion (a consumer that kept its position); if it
  // is too old the server answers 410 and the reflector relists. Empty: list first (the usual case).
  std::string start_resource_version;
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30000};
  // For an Informer: what it keeps of each object (see ObjectTransform); empty keeps the lean object.
  ObjectTransform transform;
};

// Why the last list or watch failed: the server's answer (code, reason) or no answer at all (code 0).
struct ListWatchError {
  int code = 0;        // HTTP status; 0 for a transport error
  std::string reason;  // the Status reason ("NotFound", "Forbidden"), if any
  std::string text;    // the error as thrown: "list worker.dev/v1alpha1 workerjobs: 404 NotFound: ..."
};

class Reflector {
 public:
  Reflector(Client& client, ReflectorOptions options, ReflectorSink& sink);
  // Lists and watches until stop is requested; never throws (errors are logged and retried).
  void run(std::stop_token stop);

  std::string resource_version() const;
  // For tests and metrics: how many full lists and how many watch requests were made.
  int lists() const { return lists_.load(); }
  int watches() const { return watches_.load(); }
  // The last list or watch failure since the last successful list, so that a cache that does not sync
  // can say why (a missing CustomResourceDefinition, missing RBAC) instead of only that it did not.
  std::optional<ListWatchError> last_error() const;

 private:
  // Lists page by page into the sink; throws (ApiError, TransportError) when a page fails.
  void list_into_sink();
  // Returns when the watch ended, with the number of events it delivered; sets relist_ on 410/Expired.
  int watch_once(const pplx::cancellation_token& cancel);
  void set_resource_version(const std::string& rv);
  void set_last_error(std::optional<ListWatchError> error);

  Client& client_;
  ReflectorOptions options_;
  ReflectorSink& sink_;
  std::string what_;
  mutable std::mutex mu_;
  std::string resource_version_;
  std::optional<ListWatchError> last_error_;
  bool relist_ = true;
  std::atomic<int> lists_{0}, watches_{0};
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace wo::kube
