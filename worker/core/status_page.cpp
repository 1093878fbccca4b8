#include "core/status_page.h"

#include <chrono>
#include <ctime>

#include "core/html.h"
#include "wo/log.h"

namespace wo::worker {
namespace {

// Inline style only: the page loads nothing else (no assets, no scripts).
constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}td.msg{white-space:pre-wrap;max-width:50em}"
    "section{margin-bottom:2em}.note{color:#666;font-size:.9em}.error{color:#a00}";

std::string head(const std::string& title, bool refresh) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  if (refresh) out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(kStatusRefreshSeconds) + "\">\n";
  return out + "<title>" + html::escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
}

}  // namespace

void StatusPage::add(StatusSection section) {
  sections_.push_back(std::move(section));
}

http::Response StatusPage::serve() const {
  const std::string now = utc_now_text();
  std::vector<std::string> rendered;
  rendered.reserve(sections_.size());
  for (const auto& s : sections_) {
    try {
      rendered.push_back(s.render());
    } catch (const std::exception& e) {
      wo::log::warn("status page: cannot read a job's status", {{"job", s.job}, {"error", e.what()}});
      return {503, "text/html; charset=utf-8", render_status_error(s.job, e.what(), now)};
    }
  }
  return {200, "text/html; charset=utf-8", render_status_page(rendered, now)};
}

std::string render_status_page(const std::vector<std::string>& sections, const std::string& generated_at) {
  std::string out = head("worker status", true);
  out += "<h1>worker status</h1>\n<p class=\"note\">Read-only; generated " + html::escape(generated_at) +
         ", reloads every " + std::to_string(kStatusRefreshSeconds) +
         " s. Metrics: <a href=\"/metrics\">/metrics</a>.</p>\n";
  if (sections.empty()) out += "<p>No job of this worker shows a status here (no queue job runs).</p>\n";
  for (const auto& s : sections) out += s;
  return out + "</body>\n</html>\n";
}

std::string render_status_error(const std::string& job, const std::string& error, const std::string& generated_at) {
  std::string out = head("worker status: unavailable", true);
  out += "<h1>worker status: unavailable</h1>\n<p class=\"error\" data-error>Cannot read the status of job <code>" +
         html::escape(job) + "</code>: " + html::escape(error) + "</p>\n<p class=\"note\">" +
         html::escape(generated_at) + "; retried every " + std::to_string(kStatusRefreshSeconds) + " s.</p>\n";
  return out + "</body>\n</html>\n";
}

std::string utc_now_text() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace wo::worker
