// End-to-end tests of `worker queue ...`: the real worker binary as a subprocess against a real Postgres,
// checking its table output, that -o json parses, and its exit status on bad input.
#include <gtest/gtest.h>

#include <cpprest/json.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "queue/schema.h"
#include "tests/worker_test_support.h"
#include "wo/subprocess.h"

namespace wo::worker::cli {
namespace {

using wo::worker::testing::fresh_database;
using wo::worker::testing::query_int;
using wo::worker::testing::query_text;
using wo::worker::testing::run_sql;

struct Ran {
  int code;
  std::string out, err;
};

// `worker queue args...` with only WORKER_DATABASE_URL=dsn in its environment (no PG* variables, no
// /etc/worker/config.yaml unless the machine has one).
Ran queue(const std::string& dsn, std::vector<std::string> args) {
  wo::subprocess::Command cmd;
  cmd.program = WORKER_BINARY;
  cmd.argv = {"worker", "queue"};
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  cmd.env = {"WORKER_DATABASE_URL=" + dsn, "WORKER_CONFIG=/dev/null"};
  cmd.merge_stderr = false;
  cmd.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto r = wo::subprocess::run(cmd);
  return {r.exit_code, r.output, r.error_output};
}

web::json::value parse_json(const std::string& text) {
  return web::json::value::parse(text);  // throws on anything that is not JSON
}

// ids 1 queued, 2 processing, 3 failed (an hour ago), 4 completed (an hour ago), 5 failed now.
std::string campaign_queue() {
  std::string dsn = fresh_database();
  pqxx::connection c(dsn);
  wo::queue::migrate(c, wo::queue::QueueTable("campaigns"));
  run_sql(dsn,
          "INSERT INTO campaigns (state, payload, finished_at, num_failures, failure_message, worker_id) VALUES"
          " ('queued', '{\"campaign\": 1}', NULL, 0, NULL, NULL),"
          " ('processing', '{\"campaign\": 2}', NULL, 0, NULL, gen_random_uuid()),"
          " ('failed', '{\"campaign\": 3}', now() - interval '1 hour', 5, 'smtp refused:\n\"550\" mailbox', NULL),"
          " ('completed', '{}', now() - interval '1 hour', 0, NULL, NULL),"
          " ('failed', '{}', now(), 5, 'timeout', NULL)");
  return dsn;
}

TEST(QueueCliTest, StatsPrintsATableAndJson) {
  std::string dsn = campaign_queue();
  Ran r = queue(dsn, {"stats", "--table=campaigns"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* line : {"queued +1", "processing +1", "failed +2", "due now +1", "oldest due id +1",
                           "finished, last 5m +0 completed, 1 failed"}) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("(^|\n)") + line + "\n"))) << line << " in\n" << r.out;
  }

  r = queue(dsn, {"stats", "--table", "campaigns", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = parse_json(r.out);
  EXPECT_EQ(j.at("states").at("failed").as_integer(), 2);
  EXPECT_EQ(j.at("states").at("processing").as_integer(), 1);
  EXPECT_EQ(j.at("due_now").as_integer(), 1);
  EXPECT_EQ(j.at("oldest_due_id").as_integer(), 1);
  EXPECT_EQ(j.at("finished").at("5m").at("failed").as_integer(), 1);
  EXPECT_TRUE(j.at("lag_seconds").is_number());
}

TEST(QueueCliTest, ListAndShowPrintRecordsAsTablesAndJson) {
  std::string dsn = campaign_queue();
  Ran r = queue(dsn, {"list", "--table=campaigns", "--state=failed"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ID  STATE", 0), 0U) << r.out;
  EXPECT_NE(r.out.find("smtp refused: \"550\" mailbox"), std::string::npos) << "one line per record: " << r.out;
  EXPECT_EQ(r.out.find("queued "), std::string::npos) << r.out;

  r = queue(dsn, {"list", "--table=campaigns", "--limit=2", "-o=json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto list = parse_json(r.out);
  ASSERT_EQ(list.as_array().size(), 2U);
  EXPECT_EQ(list.at(0).at("id").as_integer(), 5) << "newest first";
  EXPECT_EQ(parse_json(queue(dsn, {"list", "--table=campaigns", "--state=failed", "-o", "json"}).out)
                .at(1)
                .at("failure_message")
                .as_string(),
            "smtp refused:\n\"550\" mailbox")
      << "whole in JSON";

  r = queue(dsn, {"show", "--table=campaigns", "--id=3", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_json(r.out).at("payload").at("campaign").as_integer(), 3);
  r = queue(dsn, {"show", "--table=campaigns", "--id=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("payload"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("attempt_token"), std::string::npos) << r.out;
}

TEST(QueueCliTest, RetryCancelAndPurgeReportWhatChanged) {
  std::string dsn = campaign_queue();
  Ran r = queue(dsn, {"retry", "--table=campaigns", "--state=failed", "--older-than=30m", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = parse_json(r.out);
  EXPECT_EQ(j.at("changed").as_integer(), 1);
  EXPECT_EQ(j.at("ids").at(0).as_integer(), 3);
  EXPECT_EQ(query_text(dsn, "SELECT state FROM campaigns WHERE id = 3"), "queued");

  r = queue(dsn, {"retry", "--table=campaigns", "--id=2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "retried 0 records\n");
  EXPECT_EQ(query_text(dsn, "SELECT state FROM campaigns WHERE id = 2"), "processing");

  r = queue(dsn, {"cancel", "--table=campaigns", "--id=1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "record 1 canceled\n");
  r = queue(dsn, {"cancel", "--table=campaigns", "--id=2", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_json(r.out).at("changed").as_integer(), 1);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM campaigns WHERE id = 2 AND state = 'processing' AND cancel_requested"),
            1);

  r = queue(dsn, {"purge", "--table=campaigns", "--state=completed", "--older-than=0s"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "purged 1 record: 4\n");
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM campaigns"), 4);
}

TEST(QueueCliTest, TheTableComesFromTheJobsConfiguration) {
  std::string dsn = campaign_queue();
  const std::string dir = ::testing::TempDir();
  const std::string single = dir + "/queue_cli_single.yaml", several = dir + "/queue_cli_several.yaml";
  std::ofstream(single) << "table: campaigns\nconcurrency: 2\n";
  std::ofstream(several) << "jobs:\n  campaigns.reconciler: {table: campaigns}\n";
  Ran r = queue(dsn, {"stats", "--config", single, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_json(r.out).at("table").as_string(), "campaigns");
  r = queue(dsn, {"stats", "--config", several, "--job=campaigns.reconciler", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_json(r.out).at("table").as_string(), "campaigns");
  r = queue(dsn, {"stats", "--config", several});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--job"), std::string::npos) << r.err;
  r = queue(dsn, {"stats", "--config", several, "--job=other"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing --table"), std::string::npos) << r.err;
  r = queue(dsn, {"stats", "--config", dir + "/no_such_config.yaml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << r.err;
}

TEST(QueueCliTest, BadInputExitsTwoWithOneLineNamingTheProblem) {
  std::string dsn = campaign_queue();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"frobnicate", "--table=campaigns"}, "unknown subcommand \"frobnicate\""},
      {{}, "missing subcommand"},
      {{"stats"}, "missing --table"},
      {{"show", "--table=campaigns", "--id=abc"}, "bad --id \"abc\""},
      {{"show", "--table=campaigns", "--id=-3"}, "bad --id \"-3\""},
      {{"show", "--table=campaigns", "--id=99"}, "no record with id 99"},
      {{"retry", "--table=campaigns", "--state=failed", "--older-than=soon"}, "--older-than"},
      {{"list", "--table=campaigns", "--state=done"}, "unknown state \"done\""},
      {{"retry", "--table=campaigns", "--state=processing"}, "only failed or canceled"},
      {{"retry", "--table=campaigns"}, "retry needs --id"},
      {{"purge", "--table=campaigns", "--state=queued", "--older-than=0s"}, "only finished records"},
      {{"purge", "--table=campaigns", "--state=completed"}, "--older-than"},
      {{"stats", "--table=nosuchtable"}, "unknown table \"nosuchtable\""},
      {{"stats", "--table=Bad-Name"}, "bad table name"},
      {{"stats", "--table=campaigns", "--id=3"}, "--id does not apply to stats"},
      {{"stats", "--table=campaigns", "-o", "yaml"}, "bad --output \"yaml\""},
      {{"stats", "--table=campaigns", "--bogus"}, "unknown flag --bogus"},
  };
  for (const auto& [args, message] : cases) {
    Ran r = queue(dsn, args);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(args) << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << ::testing::PrintToString(args) << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  }
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM campaigns WHERE state = 'failed'"), 2) << "nothing changed";
}

TEST(QueueCliTest, ADatabaseErrorExitsOneWithContext) {
  Ran r = queue("postgresql://127.0.0.1:1/none?connect_timeout=2", {"stats", "--table=campaigns"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("queue stats on table \"campaigns\""), std::string::npos) << r.err;
}

TEST(QueueCliTest, HelpListsTheSubcommandsAndFlags) {
  Ran r = queue("", {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--older-than"), std::string::npos) << r.out;
  r = queue("", {"retry", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--state"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wo::worker::cli
