// The status page in a real browser: the worker binary running queue.command on a throwaway Postgres,
// the page loaded by headless Chromium (--dump-dom), its numbers compared with `worker queue stats -o
// json` on the same database, a failure message holding markup shown as text, and no write by the page.
//
// WO_STATUS_PAGE_SCREENSHOT=FILE also saves a screenshot of the page there (hack/status-page-screenshot.sh
// makes docs/status-page.png so).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cpprest/json.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>

#include "tests/worker_process.h"
#include "tests/worker_test_support.h"
#include "wo/subprocess.h"

namespace wo::worker {
namespace {

using std::chrono::seconds;
using testing::fresh_database;
using testing::query_int;
using testing::query_text;
using testing::run_sql;
using testing::wait_until;
using testing::WorkerProcess;

// The failure message the command writes: markup that must reach the page as text.
constexpr const char* kMarkup = "<script>alert(1)</script>";

// Records whose payload has "fail" fail for good at once, with kMarkup as their message.
std::string config() {
  return std::string("table: things\npoll_interval: 100ms\ndepth_sample_interval: 200ms\njanitor: false\n") +
         "permanent_failure_exit_codes: [3]\n"
         "command: [sh, -c, \"if grep -q fail; then echo '" +
         kMarkup + " & more' >&2; exit 3; fi\"]\n";
}

wo::subprocess::Result run(const std::string& program, std::vector<std::string> argv, std::vector<std::string> env) {
  wo::subprocess::Command cmd;
  cmd.program = program;
  cmd.argv = std::move(argv);
  cmd.env = std::move(env);
  cmd.merge_stderr = false;
  cmd.output_limit = std::size_t{4} * 1024 * 1024;
  cmd.deadline = std::chrono::steady_clock::now() + seconds(60);
  return wo::subprocess::run(cmd);
}

// Headless Chromium, with a profile of its own that is removed afterwards. extra: e.g. --dump-dom.
wo::subprocess::Result chromium(const std::string& program, const std::string& url, const std::string& extra) {
  const std::filesystem::path profile =
      std::filesystem::temp_directory_path() / ("wo-chromium-" + std::to_string(::getpid()));
  auto r = run(program,
               {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile.string(),
                "--window-size=1200,900", extra, url},
               {"HOME=" + profile.string(), "PATH=/usr/bin:/bin"});
  std::filesystem::remove_all(profile);
  return r;
}

// Every row of the table with the transaction that last wrote it (xmin): any insert, update or delete
// changes it. Exact at once, where pg_stat_user_tables' counters arrive seconds late.
std::string row_versions(const std::string& dsn) {
  return query_text(dsn,
                    "SELECT count(*) || ' ' || md5(coalesce(string_agg(id || ':' || xmin::text, ',' ORDER BY id), ''))"
                    " FROM things");
}

std::map<std::string, long long> page_states(const std::string& dom) {
  std::map<std::string, long long> out;
  const std::regex cell(R"re(data-state="([a-z]+)"[^>]*>([0-9]+)<)re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), cell); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = std::stoll((*it)[2]);
  }
  return out;
}

TEST(StatusPageBrowserTest, ChromiumShowsTheNumbersOfQueueStatsEscapedAndThePageWritesNothing) {
  const auto browser = wo::subprocess::find_executable("chromium");
  if (!browser) GTEST_SKIP() << "chromium is not installed (hack/setup.sh installs it)";
  const std::string dsn = fresh_database();
  WorkerProcess worker({"--job=queue.command", "--database-url=" + dsn}, config());
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = worker.http_port()) > 0; })) << worker.output();
  ASSERT_TRUE(wait_until(
      [&] { return query_int(dsn, "SELECT count(*) FROM to_regclass('things') t WHERE t IS NOT NULL") == 1; }));
  run_sql(dsn,
          "INSERT INTO things (payload) SELECT '{\"ok\": true}' FROM generate_series(1, 4);"
          "INSERT INTO things (payload) SELECT '{\"fail\": true}' FROM generate_series(1, 2);"
          "INSERT INTO things (payload, process_after) VALUES ('{}', now() + interval '1 hour')");
  ASSERT_TRUE(wait_until(
      [&] { return query_int(dsn, "SELECT count(*) FROM things WHERE state IN ('completed', 'failed')") == 6; },
      seconds(60)))
      << worker.output();

  const std::string rows_before = row_versions(dsn);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const auto page = chromium(*browser, url, "--dump-dom");
  ASSERT_EQ(page.exit_code, 0) << page.error_output;
  const std::string& dom = page.output;
  const auto stats = run(WORKER_BINARY, {"worker", "queue", "stats", "--table=things", "-o", "json"},
                         {"WORKER_DATABASE_URL=" + dsn, "WORKER_CONFIG=/dev/null"});
  ASSERT_EQ(stats.exit_code, 0) << stats.error_output;
  const auto json = web::json::value::parse(stats.output);

  // Counts by state: the same, state by state, and what the test made.
  const auto states = page_states(dom);
  ASSERT_EQ(states.size(), json.at("states").size()) << dom;
  for (const auto& [state, count] : json.at("states").as_object()) {
    EXPECT_EQ(states.at(state), count.as_number().to_int64()) << state << " in\n" << dom;
  }
  EXPECT_EQ(states.at("completed"), 4);
  EXPECT_EQ(states.at("failed"), 2);
  EXPECT_EQ(states.at("queued"), 1);
  std::smatch lag;
  ASSERT_TRUE(std::regex_search(dom, lag, std::regex(R"re(data-lag-seconds="([0-9.]+)")re"))) << dom;
  EXPECT_NEAR(std::stod(lag[1]), json.at("lag_seconds").as_double(), 1.0) << "read moments apart";

  // The message is text: escaped in the DOM, never an element.
  EXPECT_NE(dom.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), std::string::npos) << dom;
  EXPECT_EQ(dom.find(kMarkup), std::string::npos) << dom;
  EXPECT_EQ(std::regex_search(dom, std::regex("data-failure-id=")), true);

  EXPECT_EQ(row_versions(dsn), rows_before) << "the page wrote to the table";

  // NOLINTNEXTLINE(concurrency-mt-unsafe): tests never setenv
  if (const char* shot = std::getenv("WO_STATUS_PAGE_SCREENSHOT"); shot != nullptr && *shot != '\0') {
    const auto r = chromium(*browser, url, std::string("--screenshot=") + shot);
    EXPECT_EQ(r.exit_code, 0) << r.error_output;
    EXPECT_TRUE(std::filesystem::exists(shot)) << shot;
  }
}

}  // namespace
}  // namespace wo::worker
