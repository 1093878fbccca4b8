#include "queue/status_section.h"

#include <algorithm>
#include <cstdio>

#include "core/html.h"
#include "core/status_page.h"
#include "wo/text.h"

namespace wo::queue {
namespace {

using wo::html::escape;

constexpr auto kStatusStatementTimeout = std::chrono::milliseconds(5000);

// As `worker queue stats` prints seconds: three decimals.
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string states_table(const StateCounts& counts) {
  std::string out = "<table class=\"states\">\n<tr><th>state</th><th>records</th><th>note</th></tr>\n";
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    const std::string state = kStates[i];
    const std::string note = counts.capped[i] ? "at least (counted up to " + std::to_string(kStateCountCap) + ")" : "";
    out += "<tr><td>";
    out += state;
    out += "</td><td class=\"n\" data-state=\"";
    out += state;
    out += "\"";
    out += counts.capped[i] ? " data-capped=\"true\"" : "";
    out += ">" + std::to_string(counts.count[i]) + "</td><td>" + note + "</td></tr>\n";
  }
  return out + "</table>\n";
}

// One bar per minute, oldest on the left: completed (green) with failed (red) stacked on top.
std::string throughput_chart(const std::array<Throughput, kThroughputMinutes>& per_minute) {
  constexpr int kBar = 24, kGap = 6, kHeight = 120, kLabel = 16;
  int64_t most = 1;
  for (const auto& m : per_minute) most = std::max(most, m.completed + m.failed);
  const int width = kThroughputMinutes * (kBar + kGap);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(kHeight + kLabel) + "\" role=\"img\" aria-label=\"records finished per minute\">\n";
  for (int i = 0; i < kThroughputMinutes; ++i) {
    const auto& m = per_minute[static_cast<std::size_t>(kThroughputMinutes - 1 - i)];
    const int minute = kThroughputMinutes - 1 - i;
    const auto h = [&](int64_t n) { return static_cast<int>(n * kHeight / most); };
    const int x = i * (kBar + kGap), hc = h(m.completed), hf = h(m.failed);
    out += "<g data-minute=\"" + std::to_string(minute) + "\" data-completed=\"" + std::to_string(m.completed) +
           "\" data-failed=\"" + std::to_string(m.failed) + "\"><title>" + std::to_string(minute) + " to " +
           std::to_string(minute + 1) + " min ago: " + std::to_string(m.completed) + " completed, " +
           std::to_string(m.failed) + " failed</title>";
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kHeight - hc) + "\" width=\"" +
           std::to_string(kBar) + "\" height=\"" + std::to_string(hc) + "\" fill=\"#3a3\"/>";
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kHeight - hc - hf) + "\" width=\"" +
           std::to_string(kBar) + "\" height=\"" + std::to_string(hf) + "\" fill=\"#c33\"/></g>\n";
  }
  out += "<text x=\"0\" y=\"" + std::to_string(kHeight + kLabel - 3) + "\" font-size=\"11\">" +
         std::to_string(kThroughputMinutes) + " min ago</text><text x=\"" + std::to_string(width - kGap) + "\" y=\"" +
         std::to_string(kHeight + kLabel - 3) + "\" font-size=\"11\" text-anchor=\"end\">now (max " +
         std::to_string(most) + "/min)</text>\n";
  return out + "</svg>\n";
}

std::string failures_table(const std::vector<RecordSummary>& failures) {
  if (failures.empty()) return "<p>No failed records.</p>\n";
  std::string out =
      "<table class=\"failures\">\n<tr><th>id</th><th>failed runs</th><th>finished (UTC)</th><th>message</th></tr>\n";
  for (const auto& f : failures) {
    out += "<tr data-failure-id=\"" + std::to_string(f.id) + "\"><td class=\"n\">" + std::to_string(f.id) +
           "</td><td class=\"n\">" + std::to_string(f.num_failures) + "</td><td>" + escape(f.finished_at) +
           "</td><td class=\"msg\">" + escape(wo::text::clean(f.failure_message.value_or(""), kStatusMessageBytes)) +
           "</td></tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string render_queue_status(const QueueStatus& s) {
  const QueueStats& st = s.stats;
  std::string out = "<section class=\"queue\" data-job=\"" + escape(s.job) + "\" data-table=\"" + escape(s.table) +
                    "\">\n<h2>Job <code>" + escape(s.job) + "</code>, queue table <code>" + escape(s.table) +
                    "</code></h2>\n";
  out += "<h3>Records by state</h3>\n" + states_table(st.states);
  out += "<p>Lag: <span data-lag-seconds=\"" + seconds_text(st.lag_seconds) + "\">" + seconds_text(st.lag_seconds) +
         " s</span> (how long the oldest record due now has waited); due now: <span data-due-now=\"" +
         std::to_string(st.due_now) + "\">" + std::to_string(st.due_now) + "</span>.</p>\n";
  out += "<h3>Finished per minute, last " + std::to_string(kThroughputMinutes) + " minutes</h3>\n" +
         throughput_chart(st.per_minute) +
         "<p class=\"note\">The whole table (every worker of this queue, not only this pod), by finished_at; "
         "completed in green, failed in red.</p>\n";
  out += "<h3>Last failures</h3>\n" + failures_table(s.failures);
  return out + "</section>\n";
}

QueueStatus read_queue_status(const wo::worker::DatabaseOptions& database, const std::string& job,
                              const QueueTable& table) {
  wo::worker::DatabaseOptions options = database;
  options.application_name += ":status";
  if (options.statement_timeout.count() == 0 || options.statement_timeout > kStatusStatementTimeout) {
    options.statement_timeout = kStatusStatementTimeout;
  }
  auto conn = wo::worker::connect(options);
  {
    // Every statement after this one runs in a read-only transaction: the page cannot write, whatever
    // the functions it calls do.
    pqxx::nontransaction tx(*conn);
    tx.exec("SET default_transaction_read_only = on");
  }
  QueueStatus out;
  out.job = job;
  out.table = table.name();
  out.stats = queue_stats(*conn, table);
  out.failures = list_records(*conn, table, kFailed, kStatusFailures);
  return out;
}

void add_queue_status_section(const wo::worker::JobContext& ctx, const QueueTable& table) {
  if (ctx.status_page == nullptr) return;
  ctx.status_page->add({ctx.job, [database = ctx.database, job = ctx.job, table] {
                          return render_queue_status(read_queue_status(database, job, table));
                        }});
}

}  // namespace wo::queue
