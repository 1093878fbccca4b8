// The read-only status page at / on the worker's HTTP port (docs/monitoring.md, "The status page").
//
// Jobs add sections while they are built (JobContext::status_page): the framework knows no job, a
// section is a function that reads what it shows and returns it as HTML. A request runs every section
// and puts the page around them; a section that throws (the database is down) turns the whole answer
// into a 503 page naming the job and the error. Rendering the page is a pure function of its parts.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "wo/http_server.h"

namespace wo::worker {

struct StatusSection {
  std::string job;
  // An HTML fragment, every value in it escaped (core/html.h); throws when its data cannot be read.
  std::function<std::string()> render;
};

class StatusPage {
 public:
  // Before the page is served (while jobs are built).
  void add(StatusSection section);
  // 200 with every section; 503 naming the first section that threw and why. Never throws.
  http::Response serve() const;

 private:
  std::vector<StatusSection> sections_;
};

// Seconds between the page's own reloads (meta refresh: the page needs no JavaScript).
inline constexpr int kStatusRefreshSeconds = 10;

// The page around rendered sections; generated_at: when, as shown (UTC). Pure.
std::string render_status_page(const std::vector<std::string>& sections, const std::string& generated_at);
// The 503 page: which job's section failed and the error, both escaped. Pure.
std::string render_status_error(const std::string& job, const std::string& error, const std::string& generated_at);

// Now, UTC, to the second ("2026-12-07 06:57:31 UTC"), as the page shows its time.
std::string utc_now_text();

}  // namespace wo::worker
