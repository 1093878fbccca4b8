#include "watch.h"

#include "object.h"
#include "wo/log.h"

namespace wo::kube {

using web::json::value;

// --- LineReader ---

LineReader::LineReader(const concurrency::streams::istream& body, size_t max_line)
    : sb_(body.streambuf()), buf_(size_t{64} * 1024), max_line_(max_line) {}

bool LineReader::next(std::string& line) {
  for (;;) {
    if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
      line.assign(pending_, 0, nl);
      pending_.erase(0, nl + 1);
      return true;
    }
    if (pending_.size() > max_line_) {
      throw std::length_error("watch line longer than " + std::to_string(max_line_) + " bytes");
    }
    // Ask only for what is buffered (at least one byte, which blocks until data or end of stream).
    const size_t avail = sb_.in_avail();
    const size_t want = avail > 0 ? std::min(avail, buf_.size()) : 1;
    const size_t got = sb_.getn(buf_.data(), want).get();
    if (got == 0) {
      if (pending_.empty()) return false;
      line.swap(pending_);
      pending_.clear();
      return true;
    }
    pending_.append(reinterpret_cast<const char*>(buf_.data()), got);
  }
}

// --- WatchStream ---

WatchStream::WatchStream(std::shared_ptr<web::http::client::http_client> client, web::http::http_response response,
                         std::string context, std::shared_ptr<void> keep_alive)
    : keep_alive_(std::move(keep_alive)),
      client_(std::move(client)),
      response_(std::move(response)),
      reader_(response_.body()),
      context_(std::move(context)) {}

bool WatchStream::next(WatchEvent& event) {
  std::string line;
  for (;;) {
    try {
      if (!reader_.next(line)) return false;
    } catch (const std::exception& e) {
      throw TransportError(context_ + ": stream: " + e.what());
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    value v;
    try {
      v = value::parse(line);
    } catch (const std::exception& e) {
      throw TransportError(context_ + ": watch line is not JSON: " + e.what());
    }
    if (!v.is_object() || !v.has_field("type") || !v.at("type").is_string() || !v.has_field("object")) {
      throw TransportError(context_ + ": watch line is not an event: " + line.substr(0, 200));
    }
    event.type = v.at("type").as_string();
    event.object = std::move(v.at("object"));
    return true;
  }
}

// --- Backoff ---

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap,
                 std::chrono::milliseconds reset_after, const Clock& clock)
    : clock_(clock), initial_(initial), cap_(cap), reset_after_(reset_after) {}

std::chrono::milliseconds Backoff::next() {
  const auto now = clock_.now();
  if (current_.count() == 0 || now - last_ > reset_after_) {
    current_ = initial_;
  } else {
    current_ = std::min(cap_, current_ * 2);
  }
  last_ = now;
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const auto d =
      std::chrono::milliseconds(static_cast<long long>(static_cast<double>(current_.count()) * (1.0 + jitter(rng_))));
  return std::min(d, cap_);
}

// --- Reflector ---

// A watch the server ends within this time without a single event (bookmarks count) is taken for a fault
// (a proxy or server closing watches at once) and backed off instead of reopened at once, as client-go's
// reflector does. A healthy watch lasts its timeoutSeconds (minutes).
constexpr auto kShortWatch = std::chrono::seconds(1);

Reflector::Reflector(Client& client, ReflectorOptions options, ReflectorSink& sink)
    : client_(client), options_(std::move(options)), sink_(sink) {
  if (!options_.start_resource_version.empty()) {
    resource_version_ = options_.start_resource_version;
    relist_ = false;
  }
  what_ = options_.resource.api_version() + " " + options_.resource.plural;
  if (!options_.namespace_.empty()) what_ += " in " + options_.namespace_;
  if (!options_.label_selector.empty()) what_ += " (" + options_.label_selector + ")";
}

std::string Reflector::resource_version() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

void Reflector::set_resource_version(const std::string& rv) {
  if (rv.empty()) return;
  std::lock_guard lock(mu_);
  resource_version_ = rv;  // opaque: stored and sent back, never compared
}

std::optional<ListWatchError> Reflector::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void Reflector::set_last_error(std::optional<ListWatchError> error) {
  std::lock_guard lock(mu_);
  last_error_ = std::move(error);
}

void Reflector::list_into_sink() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size > 0 ? options_.page_size : 500;
  lo.resource_version = "";  // a consistent read: after a 410 the watch cache may be behind
  sink_.begin_list();
  std::string rv;
  size_t items = 0;
  size_t pages = 0;
  // Page by page: each page goes to the sink (which keeps its lean copies) and is freed before the next
  // is asked for. A continue token that expired (410, after ~5 min) or any other failure ends the list
  // here, unfinished: run() relists from the start after its backoff, and the sink, never told the list
  // ended, removes nothing meanwhile.
  do {
    value page = client_.list_page(options_.resource, options_.namespace_, lo);
    std::vector<value> page_items = take_items(page, options_.resource);
    const value* meta = page.has_field("metadata") ? &page.at("metadata") : nullptr;
    rv = meta != nullptr ? nested_string(*meta, {"resourceVersion"}) : "";
    lo.continue_token = meta != nullptr ? nested_string(*meta, {"continue"}) : "";
    items += page_items.size();
    ++pages;
    sink_.list_page(std::move(page_items));
  } while (!lo.continue_token.empty());
  if (rv.empty()) throw TransportError("list " + what_ + ": the list has no metadata.resourceVersion");
  lists_++;
  wo::log::debug("listed", {{"resource", what_},
                            {"items", static_cast<long long>(items)},
                            {"pages", static_cast<long long>(pages)},
                            {"resourceVersion", rv}});
  sink_.end_list(rv);
  set_resource_version(rv);
  set_last_error(std::nullopt);
  relist_ = false;
}

int Reflector::watch_once(const pplx::cancellation_token& cancel) {
  WatchOptions wo;
  wo.resource_version = resource_version();
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.allow_bookmarks = true;
  std::uniform_int_distribution<int> spread(options_.min_watch_timeout_seconds, 2 * options_.min_watch_timeout_seconds);
  wo.timeout_seconds = spread(rng_);
  watches_++;
  // A watch of its own, so that leaving early (410, an error event) closes the connection at once
  // instead of leaving it streaming into an unread buffer until the server's timeout.
  pplx::cancellation_token parent = cancel;
  auto per_watch = pplx::cancellation_token_source::create_linked_source(parent);
  auto stream = client_.watch(options_.resource, options_.namespace_, wo, per_watch.get_token());
  struct CancelOnExit {
    pplx::cancellation_token_source& source;
    ~CancelOnExit() { source.cancel(); }
  } close_on_exit{per_watch};
  WatchEvent ev;
  int events = 0;
  while (stream->next(ev)) {
    events++;
    if (ev.type == "ERROR") {
      const ApiError err = ApiError::from_status(ev.object, "watch " + what_);
      if (err.is_gone()) {
        wo::log::info("watch resourceVersion expired; relisting", {{"resource", what_}, {"error", err.what()}});
        relist_ = true;
        return events;
      }
      throw err;
    }
    const std::string rv = meta_string(ev.object, "resourceVersion");
    if (ev.type == "BOOKMARK") {
      set_resource_version(rv);
      continue;
    }
    if (ev.type != "ADDED" && ev.type != "MODIFIED" && ev.type != "DELETED") {
      wo::log::warn("ignoring unknown watch event type", {{"resource", what_}, {"type", ev.type}});
      continue;
    }
    wo::log::trace("watch event", {{"resource", what_},
                                   {"type", ev.type},
                                   {"name", meta_string(ev.object, "name")},
                                   {"namespace", meta_string(ev.object, "namespace")},
                                   {"resourceVersion", rv}});
    try {
      sink_.apply(std::move(ev));
    } catch (const std::exception& e) {
      wo::log::error("watch event handler failed", {{"resource", what_}, {"error", e.what()}});
    }
    set_resource_version(rv);
  }
  return events;
}

void Reflector::run(std::stop_token stop) {
  pplx::cancellation_token_source cts;
  std::stop_callback cancel_on_stop(stop, [&cts] { cts.cancel(); });
  // Lists too end at once on stop, not when a hung request times out.
  const RequestScope cancelled_on_stop({.deadline = std::nullopt, .cancel = cts.get_token()});
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  while (!stop.stop_requested()) {
    try {
      if (relist_) list_into_sink();
      const auto opened = std::chrono::steady_clock::now();
      const int events = watch_once(cts.get_token());
      const bool short_watch = events == 0 && std::chrono::steady_clock::now() - opened < kShortWatch;
      // A watch the server ended (its timeoutSeconds) is resumed at once. After a 410 ERROR event (relist_)
      // the relist waits for the backoff below: a server or proxy answering every watch so would
      // otherwise cost a full list per round trip.
      if (!relist_ && !short_watch) continue;
      if (!relist_) wo::log::warn("watch ended at once without an event; backing off", {{"resource", what_}});
    } catch (const ApiError& e) {
      if (e.is_gone()) {
        wo::log::info("resourceVersion too old; relisting after a backoff", {{"resource", what_}, {"error", e.what()}});
        relist_ = true;
      } else if (!stop.stop_requested()) {
        set_last_error(ListWatchError{e.code(), e.reason(), e.what()});
        wo::log::warn("list/watch failed", {{"resource", what_}, {"error", e.what()}});
      }
    } catch (const std::exception& e) {
      if (!stop.stop_requested()) {
        set_last_error(ListWatchError{0, "", e.what()});
        wo::log::warn("list/watch failed", {{"resource", what_}, {"error", e.what()}});
      }
    }
    // Errors, watches that end at once and relists all wait: 0.8 s doubling to 30 s with jitter, back to
    // 0.8 s after 2 min without one (client-go's reflector backoff).
    if (stop.stop_requested()) break;
    steady_clock().sleep_for(stop, backoff.next());
  }
}

}  // namespace wo::kube
