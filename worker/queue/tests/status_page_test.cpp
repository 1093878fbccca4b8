// The status page's pure parts: HTML escaping, the queue section and the page around it (a golden file),
// and how the page answers when a section cannot be read. Regenerate the golden file with
//   WO_UPDATE_GOLDEN=1 ctest -R StatusPage
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/html.h"
#include "core/status_page.h"
#include "queue/status_section.h"
#include "wo/text.h"

namespace wo::queue {
namespace {

namespace fs = std::filesystem;

TEST(StatusPageTest, EscapeMakesAnyBytesSafeHtmlText) {
  EXPECT_EQ(html::escape(R"(<script>alert("x" & 'y')</script>)"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
  EXPECT_EQ(html::escape("plain text, caf\xC3\xA9"), "plain text, caf\xC3\xA9") << "valid UTF-8 stays";
  EXPECT_EQ(html::escape("a\xFF<b"), "a\xEF\xBF\xBD&lt;b") << "an invalid byte becomes U+FFFD";
  const std::string truncated = html::escape("\xE2\x82<");
  EXPECT_TRUE(wo::text::is_clean(truncated)) << "a truncated sequence too";
  EXPECT_TRUE(truncated.starts_with("\xEF\xBF\xBD") && truncated.ends_with("&lt;")) << truncated;
  EXPECT_EQ(html::escape(std::string("a\0b", 3)), "ab") << "NUL is dropped";
  EXPECT_EQ(html::escape("&amp;"), "&amp;amp;") << "escaped once, never interpreted";
}

// Every kind of value the page shows, including the ones that could break it.
QueueStatus sample_status() {
  QueueStatus s;
  s.job = "team.thing<x>";
  s.table = "jobs";
  s.stats.states.count = {3, 1, 2, 100001, 7, 0};
  s.stats.states.capped = {false, false, false, true, true, true};
  s.stats.due_now = 3;
  s.stats.lag_seconds = 12.3456;
  for (std::size_t i = 0; i < s.stats.per_minute.size(); ++i) {
    s.stats.per_minute[i] = {static_cast<int64_t>(i * 10), static_cast<int64_t>(i % 3)};
  }
  RecordSummary a;
  a.id = 42;
  a.state = "failed";
  a.num_failures = 5;
  a.finished_at = "2026-01-02 03:04:05";
  a.failure_message = "<script>alert('pwned')</script> & \"quoted\"\nsecond line \xFF";
  RecordSummary b = a;
  b.id = 41;
  b.failure_message = std::string(1000, 'x');
  RecordSummary c = a;
  c.id = 40;
  c.failure_message.reset();
  s.failures = {a, b, c};
  return s;
}

std::string page() {
  return wo::worker::render_status_page({render_queue_status(sample_status())}, "2026-01-02 03:04:05 UTC");
}

TEST(StatusPageTest, PageMatchesTheGoldenFile) {
  const fs::path golden = fs::path(WO_SOURCE_DIR) / "worker/queue/tests/golden/status_page.html";
  const std::string actual = page();
  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests never setenv
  if (const char* v = std::getenv("WO_UPDATE_GOLDEN"); v != nullptr && std::string(v) == "1") {
    std::ofstream(golden, std::ios::binary) << actual;
  }
  std::ifstream in(golden, std::ios::binary);
  ASSERT_TRUE(in) << golden << " is missing; create it with WO_UPDATE_GOLDEN=1";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(expected.str(), actual) << "regenerate with WO_UPDATE_GOLDEN=1 if intended, and review the diff";
}

TEST(StatusPageTest, NumbersAreMarkedAndTextIsEscaped) {
  const std::string p = page();
  EXPECT_NE(p.find(R"(<td class="n" data-state="queued">3</td>)"), std::string::npos) << p;
  EXPECT_NE(p.find(R"(data-state="completed" data-capped="true">100001</td>)"), std::string::npos) << p;
  EXPECT_NE(p.find(R"(data-lag-seconds="12.346")"), std::string::npos) << "as `queue stats` prints it";
  EXPECT_NE(p.find(R"(<g data-minute="14" data-completed="140" data-failed="2">)"), std::string::npos);
  EXPECT_EQ(p.find("<script"), std::string::npos) << "no element from a message";
  EXPECT_NE(p.find("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"), std::string::npos) << p;
  EXPECT_NE(p.find("team.thing&lt;x&gt;"), std::string::npos);
  EXPECT_NE(p.find("second line \xEF\xBF\xBD"), std::string::npos) << "invalid UTF-8 replaced";
  EXPECT_NE(p.find(std::string(kStatusMessageBytes - 3, 'x') + "...</td>"), std::string::npos) << "truncated";
  EXPECT_EQ(p.find(std::string(kStatusMessageBytes, 'x')), std::string::npos);
  EXPECT_EQ(p.find("<script"), std::string::npos);
}

TEST(StatusPageTest, ASectionThatCannotBeReadGivesAnEscaped503AndNoSectionAPlainPage) {
  wo::worker::StatusPage empty;
  http::Response r = empty.serve();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("No job of this worker shows a status"), std::string::npos);

  wo::worker::StatusPage page;
  page.add({"ok.job", [] { return std::string("<section>fine</section>"); }});
  EXPECT_EQ(page.serve().status, 200);
  page.add({"bad<job>", []() -> std::string { throw std::runtime_error("connection refused <&>"); }});
  r = page.serve();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<code>bad&lt;job&gt;</code>: connection refused &lt;&amp;&gt;"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("fine"), std::string::npos) << "all or nothing: a partial page could mislead";
}

}  // namespace
}  // namespace wo::queue
