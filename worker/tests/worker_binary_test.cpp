// Integration tests of the worker binary: exit codes and termination messages, SIGTERM, kill -9.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "queue/enqueue.h"
#include "queue/schema.h"
#include "testing/postgres_server.h"
#include "tests/worker_process.h"
#include "tests/worker_test_support.h"

namespace wo::worker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::fresh_database;
using testing::query_int;
using testing::query_text;
using testing::read_file;
using testing::wait_until;
using testing::WorkerProcess;

// A minimal HTTP/1.0 GET against 127.0.0.1:port; returns the whole response ("" when unreachable).
std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return response;
}

TEST(WorkerBinaryTest, ListJobsPrintsEveryJobWithItsDescription) {
  WorkerProcess p({"--list-jobs"});
  ASSERT_EQ(p.wait_exit(seconds(30)), 0);
  for (const char* job : {"queue.command\t", "queue.resetter\t", "queue.janitor\t", "sql.periodic\t", "demo.sleep\t",
                          "example.greeter\t"}) {
    EXPECT_NE(p.output().find(job), std::string::npos) << p.output();
  }
}

TEST(WorkerBinaryTest, UnknownJobExits2AndListsTheKnownJobs) {
  WorkerProcess p({"--job=no.such.job"});
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  EXPECT_NE(p.output().find("no.such.job"), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("queue.command"), std::string::npos) << p.output();
  EXPECT_EQ(p.termination_message().rfind("UnknownJob: ", 0), 0u) << p.termination_message();
  // The known jobs are listed in name order.
  EXPECT_NE(p.termination_message().find("known jobs: campaigns.reconciler, "), std::string::npos)
      << p.termination_message();
  EXPECT_NE(p.termination_message().find("sql.periodic"), std::string::npos) << p.termination_message();
}

TEST(WorkerBinaryTest, InvalidConfigurationExits2NamingTheField) {
  WorkerProcess p({"--job=queue.command"}, "table: things\ncommand: [/bin/cat]\nconcurrency: many\n");
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  EXPECT_EQ(p.termination_message().rfind("InvalidConfig: ", 0), 0u) << p.termination_message();
  EXPECT_NE(p.termination_message().find("\"concurrency\""), std::string::npos) << p.termination_message();
  EXPECT_NE(p.output().find("concurrency"), std::string::npos) << p.output();
}

// A command that cannot run would fail every record at runtime: startup says so instead, resolving the
// name through PATH as execvp does.
TEST(WorkerBinaryTest, CommandThatIsNotAnExecutableFileFailsStartupNamingIt) {
  for (const std::string command : {"wo-no-such-command", "/wo/no/such/command", "/tmp"}) {
    WorkerProcess p({"--job=queue.command"}, "table: things\ncommand: [" + command + ", --flag]\n");
    ASSERT_EQ(p.wait_exit(seconds(30)), 2) << command << "\n" << p.output();
    EXPECT_EQ(p.termination_message().rfind("InvalidConfig: ", 0), 0u) << p.termination_message();
    EXPECT_NE(p.termination_message().find("\"command"), std::string::npos) << p.termination_message();
    EXPECT_NE(p.termination_message().find("\"" + command + "\""), std::string::npos) << p.termination_message();
  }
}

// A heartbeat may wait a whole statement timeout behind another statement: a stalled_after within
// that (the statement timeout once equalled the default stalled_after) would reset live records.
TEST(WorkerBinaryTest, StalledAfterWithinStatementTimeoutPlusHeartbeatFailsStartupNamingBoth) {
  WorkerProcess p({"--job=queue.command", "--statement-timeout=30s"},
                  "table: things\ncommand: [/bin/cat]\nheartbeat_interval: 5s\nstalled_after: 30s\n");
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  std::string message = p.termination_message();
  EXPECT_EQ(message.rfind("InvalidConfig: ", 0), 0u) << message;
  EXPECT_NE(message.find("\"stalled_after\""), std::string::npos) << message;
  EXPECT_NE(message.find("statement timeout (30s)"), std::string::npos) << message;
  EXPECT_NE(message.find("heartbeat_interval (5s)"), std::string::npos) << message;
}

TEST(WorkerBinaryTest, UnparsableConfigurationExits2WithTheLine) {
  WorkerProcess p({"--job=queue.command"}, "table: [unclosed\n");
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  EXPECT_EQ(p.termination_message().rfind("InvalidConfig: ", 0), 0u) << p.termination_message();
  EXPECT_NE(p.termination_message().find("line"), std::string::npos) << p.termination_message();
}

TEST(WorkerBinaryTest, BadFlagExits2) {
  WorkerProcess p({"--no-such-flag"});
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  EXPECT_EQ(p.termination_message().rfind("UsageError: ", 0), 0u) << p.termination_message();
}

std::string queue_config(const std::string& extra) {
  return "table: jobs\npoll_interval: 50ms\nheartbeat_interval: 100ms\nstalled_after: 3s\n"
         "resetter_interval: 100ms\njanitor: false\n" +
         extra;
}

void create_and_fill(const std::string& dsn, int n) {
  pqxx::connection c(dsn);
  queue::migrate(c, queue::QueueTable("jobs"));
  pqxx::work tx(c);
  queue::enqueue_many(tx, "jobs", std::vector<std::string>(static_cast<std::size_t>(n), "{}"));
  tx.commit();
}

long long count_state(const std::string& dsn, const std::string& state) {
  return query_int(dsn, "SELECT count(*) FROM jobs WHERE state = '" + state + "'");
}

TEST(WorkerBinaryTest, SigtermHandsUnfinishedRecordsBackWithoutSpendingAnAttempt) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 3);
  WorkerProcess p({"--job=demo.sleep", "--database-url=" + dsn, "--shutdown-timeout=3s"},
                  queue_config("concurrency: 2\nsleep: 1h\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "processing") == 2; })) << p.output();
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait_exit(seconds(20)), 0) << p.output();
  EXPECT_EQ(count_state(dsn, "queued"), 3);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_failures + num_resets > 0 OR worker_id IS NOT NULL"),
            0);
}

TEST(WorkerBinaryTest, SigtermLetsRunningHandlersFinishWithinTheTimeout) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 3);
  WorkerProcess p({"--job=demo.sleep", "--database-url=" + dsn, "--shutdown-timeout=20s"},
                  queue_config("concurrency: 2\nsleep: 500ms\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "processing") == 2; })) << p.output();
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait_exit(seconds(30)), 0) << p.output();
  // The two running records finished; nothing new was claimed after SIGTERM.
  EXPECT_EQ(count_state(dsn, "completed") + count_state(dsn, "queued"), 3);
  EXPECT_EQ(count_state(dsn, "processing"), 0);
  EXPECT_GE(count_state(dsn, "completed"), 2);
}

// A worker (without a resetter) claims the only record and is killed with SIGKILL while holding it.
void kill_a_worker_holding_the_record(const std::string& dsn) {
  WorkerProcess doomed({"--job=demo.sleep", "--database-url=" + dsn}, queue_config("sleep: 1h\nresetter: false\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "processing") == 1; })) << doomed.output();
  doomed.signal(SIGKILL);
  ASSERT_EQ(doomed.wait_exit(seconds(10)), 128 + SIGKILL);
}

TEST(WorkerBinaryTest, KilledWorkersRecordIsResetAndCompletedElsewhere) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 1);
  ASSERT_NO_FATAL_FAILURE(kill_a_worker_holding_the_record(dsn));
  EXPECT_EQ(count_state(dsn, "processing"), 1) << "nobody released it: the process died";
  WorkerProcess rescuer({"--job=demo.sleep", "--database-url=" + dsn}, queue_config("sleep: 0s\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == 1; })) << rescuer.output();
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs"), 1);
  rescuer.signal(SIGTERM);
  EXPECT_EQ(rescuer.wait_exit(seconds(30)), 0);
}

TEST(WorkerBinaryTest, RecordKilledMoreThanMaxResetsTimesIsFailed) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 1);
  // max_resets: 1. Two workers die holding it; the second stall fails the record.
  for (int i = 0; i < 2; ++i) {
    WorkerProcess doomed({"--job=demo.sleep", "--database-url=" + dsn}, queue_config("sleep: 1h\nmax_resets: 1\n"));
    ASSERT_TRUE(wait_until([&] { return count_state(dsn, "processing") == 1; })) << doomed.output();
    doomed.signal(SIGKILL);
    doomed.wait_exit(seconds(10));
    if (i == 0) {
      // Its own resetter is gone with it: reset it from a resetter-only job.
      WorkerProcess resetter({"--job=queue.resetter", "--database-url=" + dsn},
                             "table: jobs\nstalled_after: 1s\nmax_resets: 1\ninterval: 50ms\n");
      ASSERT_TRUE(wait_until([&] { return count_state(dsn, "queued") == 1; })) << resetter.output();
    }
  }
  WorkerProcess resetter({"--job=queue.resetter", "--database-url=" + dsn},
                         "table: jobs\nstalled_after: 1s\nmax_resets: 1\ninterval: 50ms\n");
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "failed") == 1; })) << resetter.output();
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs"), 2);
}

// A cancellation requested for a record whose worker is dead: nobody will heartbeat it to see the
// request, and the claim skips cancelled records, so handing it back to the queue would strand it.
TEST(WorkerBinaryTest, CancelledRecordOfAKilledWorkerEndsCanceled) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 1);
  ASSERT_NO_FATAL_FAILURE(kill_a_worker_holding_the_record(dsn));
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    ASSERT_TRUE(queue::request_cancel(tx, "jobs", 1));
    // And one left waiting with the flag alone (a plain SQL update, or an older resetter, does that).
    tx.exec("INSERT INTO jobs (cancel_requested) VALUES (true)");
    tx.commit();
  }
  WorkerProcess worker({"--job=demo.sleep", "--database-url=" + dsn}, queue_config("sleep: 0s\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "canceled") == 2; })) << worker.output();
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE finished_at IS NOT NULL AND worker_id IS NULL"), 2);
  EXPECT_EQ(query_int(dsn, "SELECT num_resets FROM jobs WHERE id = 1"), 1);
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait_exit(seconds(30)), 0) << worker.output();
}

TEST(WorkerBinaryTest, CommandJobFeedsThePayloadAndUsesTheExitStatus) {
  std::string dsn = fresh_database();
  {
    pqxx::connection c(dsn);
    queue::migrate(c, queue::QueueTable("jobs"));
    pqxx::work tx(c);
    queue::enqueue(tx, "jobs", R"({"ok": true})");
    queue::enqueue(tx, "jobs", R"({"ok": false})");
    tx.commit();
  }
  // Exits 3 (listed as permanent) when the payload says ok: false; prints the payload either way.
  WorkerProcess p(
      {"--job=queue.command", "--database-url=" + dsn},
      queue_config("permanent_failure_exit_codes: [3]\n"
                   "command: [/bin/sh, -c, 'p=$(cat); echo \"got $p\"; case \"$p\" in *false*) exit 3;; esac']\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == 1 && count_state(dsn, "failed") == 1; }))
      << p.output();
  EXPECT_EQ(query_int(dsn,
                      "SELECT num_failures FROM jobs WHERE state = 'failed' AND failure_message LIKE "
                      "'command exited with status 3: got {\"ok\": false}%'"),
            1);
}

// The output of a failing command is not text Postgres accepts as it is: 4 KiB of a two-byte character
// and a newline, so the kept 4096-byte tail starts inside a character.
TEST(WorkerBinaryTest, CommandOutputThatIsNotValidTextNeverBlocksTheQueue) {
  std::string dsn = fresh_database();
  {
    pqxx::connection c(dsn);
    queue::migrate(c, queue::QueueTable("jobs"));
    pqxx::work tx(c);
    queue::enqueue(tx, "jobs", R"({"kind": "slow"})");
    queue::enqueue(tx, "jobs", R"({"kind": "bad"})");
    queue::enqueue_many(tx, "jobs", std::vector<std::string>(6, R"({"kind": "good"})"));
    tx.commit();
  }
  std::string stop_file = "/tmp/wo-worker-test-" + std::to_string(::getpid()) + "-stop-slow";
  ::unlink(stop_file.c_str());
  // slow holds its handler (bounded, so that no command outlives a failed test for long) until told to stop.
  WorkerProcess p({"--job=queue.command", "--database-url=" + dsn, "--shutdown-timeout=5s"},
                  queue_config("concurrency: 3\nmax_attempts: 1\n"
                               "command: [/bin/sh, -c, 'p=$(cat); case \"$p\" in"
                               " *slow*) i=0; while [ ! -e " +
                               stop_file +
                               " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done;;"
                               " *bad*) printf \"é%.0s\" $(seq 4096); echo; exit 1;; esac']\n"));
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "failed") == 1; })) << p.output();
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM jobs WHERE payload->>'kind' = 'bad' AND failure_message LIKE "
                      "'command exited with status 1: %éééé%' AND octet_length(failure_message) <= 8192"),
            1);
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == 6; })) << p.output();
  // The dispatcher still heartbeats the record it holds after writing the bad one.
  ASSERT_TRUE(wait_until([&] {
    return query_int(dsn,
                     "SELECT count(*) FROM jobs s, jobs b WHERE s.payload->>'kind' = 'slow' AND s.state = "
                     "'processing' AND b.payload->>'kind' = 'bad' AND s.last_heartbeat_at > b.finished_at + "
                     "interval '300 milliseconds'") == 1;
  })) << p.output();
  std::ofstream(stop_file).close();
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == 7; })) << p.output();
  ::unlink(stop_file.c_str());
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(seconds(30)), 0) << p.output();
}

// The lines of `env` as a command of the worker saw them.
std::set<std::string> command_environment(const std::string& dsn, const std::string& config, int records,
                                          const std::string& env_file) {
  WorkerProcess p(
      {"--job=queue.command"}, queue_config(config + "command: [sh, -c, 'env > " + env_file + "']\n"),
      {"WORKER_DATABASE_URL=" + dsn, "PGPASSWORD=the-database-password", "WO_TEST_ALLOWED=yes", "WO_TEST_OTHER=no"});
  EXPECT_TRUE(wait_until([&] { return count_state(dsn, "completed") == records; })) << p.output();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(seconds(30)), 0) << p.output();
  std::set<std::string> lines;
  std::istringstream in(read_file(env_file));
  for (std::string line; std::getline(in, line);) lines.insert(line);
  ::unlink(env_file.c_str());
  return lines;
}

bool has_variable(const std::set<std::string>& env, const std::string& name) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& l) { return l.rfind(name + "=", 0) == 0; });
}

TEST(WorkerBinaryTest, CommandGetsAMinimalEnvironmentWithoutTheDatabaseCredentials) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 1);
  std::string env_file = "/tmp/wo-worker-test-" + std::to_string(::getpid()) + "-env";
  auto env = command_environment(dsn, "", 1, env_file);
  EXPECT_TRUE(env.count("WORKER_QUEUE=jobs")) << read_file(env_file);
  EXPECT_TRUE(env.count("WORKER_RECORD_ID=1"));
  EXPECT_TRUE(env.count("WORKER_ATTEMPT=1"));
  // The claim's attempt token, to key the command's side effects by (a uuid, as the table holds it).
  EXPECT_EQ(env.count("WORKER_ATTEMPT_TOKEN=" + query_text(dsn, "SELECT attempt_token::text FROM jobs WHERE id = 1")),
            1U)
      << read_file(env_file);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test never modifies its environment
  EXPECT_TRUE(env.count("PATH=" + std::string(std::getenv("PATH"))));
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test never modifies its environment
  if (const char* home = std::getenv("HOME")) {
    EXPECT_TRUE(env.count("HOME=" + std::string(home)));
  }
  for (const char* name : {"WORKER_DATABASE_URL", "PGPASSWORD", "WO_TEST_ALLOWED", "WO_TEST_OTHER"}) {
    EXPECT_FALSE(has_variable(env, name)) << name;
  }

  // Variables the configuration allows by name, and only those.
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    queue::enqueue(tx, "jobs", "{}");
    tx.commit();
  }
  env = command_environment(dsn, "env_allow: [WO_TEST_ALLOWED, PGPASSWORD, WO_TEST_UNSET]\n", 2, env_file);
  EXPECT_TRUE(env.count("WO_TEST_ALLOWED=yes"));
  EXPECT_TRUE(env.count("PGPASSWORD=the-database-password"));
  EXPECT_TRUE(env.count("WORKER_RECORD_ID=2"));
  for (const char* name : {"WORKER_DATABASE_URL", "WO_TEST_OTHER", "WO_TEST_UNSET"}) {
    EXPECT_FALSE(has_variable(env, name)) << name;
  }
}

TEST(WorkerBinaryTest, CommandEnvAllowRejectsWhatIsNotAVariableName) {
  WorkerProcess p({"--job=queue.command"}, "table: things\ncommand: [/bin/cat]\nenv_allow: [\"A=B\"]\n");
  ASSERT_EQ(p.wait_exit(seconds(30)), 2) << p.output();
  EXPECT_EQ(p.termination_message().rfind("InvalidConfig: ", 0), 0u) << p.termination_message();
  EXPECT_NE(p.termination_message().find("\"env_allow"), std::string::npos) << p.termination_message();
}

TEST(WorkerBinaryTest, ServesHealthReadinessAndMetrics) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 5);
  WorkerProcess p({"--job=demo.sleep", "--database-url=" + dsn}, queue_config("sleep: 0s\n"));
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = p.http_port()) > 0; })) << p.output();
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/readyz").find(" 200 ") != std::string::npos; }))
      << http_get(port, "/readyz");
  EXPECT_NE(http_get(port, "/healthz").find(" 200 "), std::string::npos);
  ASSERT_TRUE(wait_until([&] {
    return http_get(port, "/metrics").find("worker_queue_processed_total{queue=\"jobs\"} 5") != std::string::npos;
  })) << http_get(port, "/metrics");
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(seconds(30)), 0);
}

// Kills the process whose pid a command wrote into a file (one that escaped the worker's reach).
struct KillPidFromFile {
  std::string path;
  ~KillPidFromFile() {
    std::string text = read_file(path);
    if (!text.empty()) ::kill(std::stoi(text), SIGKILL);
    ::unlink(path.c_str());
  }
};

// The command of a handler that cannot be stopped: the command leaves its process group (setsid), so
// the group's SIGTERM and SIGKILL miss it, and keeps the output pipe open, so the run never ends. Its
// pid goes to pid_file, for the test to kill.
std::string unstoppable_command(const std::string& pid_file) {
  return "command: [/bin/sh, -c, 'setsid /bin/sh -c \"echo \\$\\$ > " + pid_file + "; exec sleep 600\" & wait']\n";
}

// A handler that ignores its cancellation keeps its record and its handler for ever: the pod must not
// look alive meanwhile, so that Kubernetes restarts it (and the record is handed back or reset).
TEST(WorkerBinaryTest, AHandlerIgnoringItsCancellationFailsLiveness) {
  std::string dsn = fresh_database();
  create_and_fill(dsn, 1);
  KillPidFromFile stuck{"/tmp/wo-worker-test-" + std::to_string(::getpid()) + "-stuck.pid"};
  WorkerProcess p({"--job=queue.command", "--database-url=" + dsn, "--shutdown-timeout=2s"},
                  queue_config("handler_timeout: 1s\ncancel_grace: 1s\n" + unstoppable_command(stuck.path)));
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = p.http_port()) > 0; })) << p.output();
  ASSERT_TRUE(wait_until([&] { return !read_file(stuck.path).empty(); })) << p.output();
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").find(" 200 ") == std::string::npos; }))
      << http_get(port, "/healthz") << p.output();
  std::string health = http_get(port, "/healthz");
  EXPECT_NE(health.find("ignored its cancellation"), std::string::npos) << health;
  EXPECT_EQ(count_state(dsn, "processing"), 1);
  // Kubernetes' restart: the record is handed back, no attempt spent, and the process ends on time
  // (shutdown timeout + 1 s grace) without waiting for the handler, saying why: the handler's thread is
  // never detached, so only the end of the process ends it.
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(seconds(30)), 1) << p.output();
  EXPECT_EQ(::kill(std::stoi(read_file(stuck.path)), 0), 0)
      << "the handler's command should still run: the worker ended without waiting for it";
  EXPECT_EQ(count_state(dsn, "queued"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT num_failures + num_resets FROM jobs"), 0) << "no attempt spent";
  EXPECT_NE(p.output().find("a handler ignores its cancellation past the shutdown deadline"), std::string::npos)
      << p.output();
  EXPECT_EQ(p.termination_message().rfind("ShutdownTimeout: routines did not stop by the shutdown deadline: ", 0), 0u)
      << p.termination_message();
}

// sql.periodic in three replicas: the advisory lock only keeps runs from overlapping, and the script
// must still run once per interval across all of them, not once per interval per replica.
TEST(WorkerBinaryTest, PeriodicSqlRunsOncePerIntervalAcrossReplicas) {
  std::string dsn = fresh_database();
  {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE TABLE runs (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
  }
  std::vector<std::unique_ptr<WorkerProcess>> replicas;
  replicas.reserve(3);
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(
        std::make_unique<WorkerProcess>(std::vector<std::string>{"--job=sql.periodic", "--database-url=" + dsn},
                                        "sql: INSERT INTO runs DEFAULT VALUES\ninterval: 1s\n"));
  }
  ASSERT_TRUE(wait_until([&] { return query_int(dsn, "SELECT count(*) FROM runs") >= 2; })) << replicas[0]->output();
  // An observation window of 8 intervals on the database's clock: 8 runs, give or take one.
  const std::string now_ms = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
  long long from = query_int(dsn, "SELECT " + now_ms);
  ASSERT_TRUE(wait_until([&] { return query_int(dsn, "SELECT " + now_ms) >= from + 8000; }));
  long long runs =
      query_int(dsn, "SELECT count(*) FROM runs WHERE at > to_timestamp(" + std::to_string(from) +
                         " / 1000.0) AND at <= to_timestamp(" + std::to_string(from + 8000) + " / 1000.0)");
  EXPECT_GE(runs, 7);
  EXPECT_LE(runs, 9) << "once per interval per replica, not across the replicas";
  for (auto& r : replicas) {
    r->signal(SIGTERM);
    EXPECT_EQ(r->wait_exit(seconds(30)), 0) << r->output();
  }
}

// Real faults, one after the other, while two worker processes burn a table down: every worker
// connection terminated (pg_terminate_backend) twice, then the Postgres server stopped and started again
// on the same data and port. Runs cut off by a fault fail and are retried; no claim is ever reset
// (stalled_after is far longer than the outages). Every record must end completed, its work done to the end,
// and done again only after an attempt that failed: the job logs every run, with its end once the work is done.
TEST(WorkerBinaryTest, TerminatedConnectionsAndAPostgresRestartLoseNothingAndRepeatOnlyFailedAttempts) {
  wo::testing::PostgresServer server;  // its own server: this test restarts it
  std::string dsn = server.connection_string();
  constexpr int kRecords = 3000;
  {
    pqxx::connection c(dsn);
    queue::migrate(c, queue::QueueTable("jobs"));
    pqxx::work tx(c);
    queue::enqueue_many(tx, "jobs", std::vector<std::string>(kRecords, "{}"));
    tx.commit();
  }
  const std::string config =
      "table: jobs\nconcurrency: 4\nwork: 20ms\npoll_interval: 200ms\nheartbeat_interval: 500ms\n"
      "stalled_after: 30s\nmax_attempts: 1000\nretry_backoff: 50ms\nretry_backoff_max: 1s\njanitor: false\n";
  std::vector<std::unique_ptr<WorkerProcess>> workers;
  workers.reserve(2);
  for (int i = 0; i < 2; ++i) {
    workers.push_back(std::make_unique<WorkerProcess>(
        std::vector<std::string>{"--job=test.run-log", "--database-url=" + dsn, "--shutdown-timeout=5s"}, config));
  }
  auto completed_at_least = [&](int n) {
    return wait_until([&] { return count_state(dsn, "completed") >= n; }, seconds(60));
  };
  for (int fault = 1; fault <= 2; ++fault) {
    ASSERT_TRUE(completed_at_least(kRecords * fault / 5)) << workers[0]->output();
    long long terminated = query_int(dsn,
                                     "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                                     " WHERE application_name LIKE 'worker:%'");
    EXPECT_GE(terminated, 2) << "each worker has at least a dispatcher connection";
  }
  ASSERT_TRUE(completed_at_least(kRecords * 3 / 5)) << workers[0]->output();
  server.stop();
  std::this_thread::sleep_for(seconds(2));  // the outage: an explicit fault interval
  server.start();
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == kRecords; }, seconds(120)))
      << count_state(dsn, "completed") << " completed\n"
      << workers[0]->output();
  for (auto& w : workers) {
    w->signal(SIGTERM);
    EXPECT_EQ(w->wait_exit(seconds(30)), 0) << w->output();
  }
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM jobs WHERE num_resets > 0"), 0);
  EXPECT_EQ(query_int(dsn, "SELECT count(DISTINCT record_id) FROM jobs_runs WHERE ended_at IS NOT NULL"), kRecords)
      << "records whose work was never done to the end";
  // A run can end its work and still fail: the job's own write of its end commits while a fault cuts the
  // connection before the answer arrives, so the handler throws and the record is retried. Work done to the
  // end again is fine only after such a failed attempt: never after a run whose outcome counted.
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM (SELECT record_id, count(*) AS ends FROM jobs_runs"
                      " WHERE ended_at IS NOT NULL GROUP BY record_id) r JOIN jobs j ON j.id = r.record_id"
                      " WHERE r.ends - 1 > j.num_failures"),
            0)
      << "records whose work was done to the end again without a failed attempt between";
  RecordProperty("failed_runs",
                 std::to_string(query_int(dsn, "SELECT count(*) FROM jobs_runs WHERE ended_at IS NULL")));
}

// CPU time (user + system, all threads) the process has used so far, in seconds.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis. Field 3
  // (state) comes first; utime and stime are fields 14 and 15.
  std::istringstream in(stat.substr(stat.rfind(')') + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() < 13) return -1;
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The CPU time the process uses over a 10 s observation window.
double cpu_over_ten_seconds(pid_t pid) {
  double before = cpu_seconds(pid);
  std::this_thread::sleep_for(seconds(10));
  return cpu_seconds(pid) - before;
}

// Every wait of the worker has a wake-up source or a deadline: it uses about as little CPU while idle as
// while the database is down with outcomes waiting to be written, or while a timed-out handler does
// not return (0.4 of a core would be 4 s per window).
TEST(WorkerBinaryTest, TheWorkerDoesNotSpinWhileIdleDatabaseDownOrAHandlerWillNotReturn) {
  wo::testing::PostgresServer server;  // its own server: this test stops it
  std::string dsn = server.connection_string();
  {
    pqxx::connection c(dsn);
    queue::migrate(c, queue::QueueTable("jobs"));
  }
  std::string base = "/tmp/wo-worker-test-" + std::to_string(::getpid());
  KillPidFromFile stuck{base + "-spin-stuck.pid"};
  std::string go = base + "-spin-go";
  ::unlink(go.c_str());
  WorkerProcess p({"--job=queue.command", "--database-url=" + dsn, "--shutdown-timeout=2s"},
                  "table: jobs\nconcurrency: 2\nhandler_timeout: 1s\ncancel_grace: 1s\n"
                  "command: [/bin/sh, -c, 'p=$(cat); case \"$p\" in"
                  " *stuck*) setsid /bin/sh -c \"echo \\$\\$ > " +
                      stuck.path +
                      "; exec sleep 600\" & wait;;"
                      " *slow*) i=0; while [ ! -e " +
                      go + " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done;; esac']\n");
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = p.http_port()) > 0; })) << p.output();
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/readyz").find(" 200 ") != std::string::npos; })) << p.output();

  double idle = cpu_over_ten_seconds(p.pid());
  EXPECT_LT(idle, 0.5) << "idle";

  // The database goes away while a handler runs; its outcome waits to be written.
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    queue::enqueue(tx, "jobs", R"({"kind": "slow"})");
    tx.commit();
  }
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "processing") == 1; })) << p.output();
  server.stop();
  std::ofstream(go).close();
  ASSERT_TRUE(wait_until([&] {
    return http_get(port, "/metrics").find("worker_queue_handler_duration_seconds_count{queue=\"jobs\"} 1") !=
           std::string::npos;
  })) << http_get(port, "/metrics");
  double database_down = cpu_over_ten_seconds(p.pid());
  EXPECT_LT(database_down, 0.5) << "database down with an outcome to write";
  server.start();
  ASSERT_TRUE(wait_until([&] { return count_state(dsn, "completed") == 1; })) << p.output();
  ::unlink(go.c_str());

  // A handler over its timeout that does not return (its command is out of the worker's reach).
  {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    queue::enqueue(tx, "jobs", R"({"kind": "stuck"})");
    tx.commit();
  }
  ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").find(" 200 ") == std::string::npos; })) << p.output();
  double stuck_handler = cpu_over_ten_seconds(p.pid());
  EXPECT_LT(stuck_handler, 0.5) << "a timed-out handler that does not return";
  RecordProperty("cpu_seconds_idle", std::to_string(idle));
  RecordProperty("cpu_seconds_database_down", std::to_string(database_down));
  RecordProperty("cpu_seconds_stuck_handler", std::to_string(stuck_handler));
  p.signal(SIGTERM);
  // The stuck handler is not waited for past the shutdown deadline: exit 1, ShutdownTimeout.
  EXPECT_EQ(p.wait_exit(seconds(30)), 1) << p.output();
  EXPECT_EQ(p.termination_message().rfind("ShutdownTimeout: ", 0), 0u) << p.termination_message();
}

}  // namespace
}  // namespace wo::worker
