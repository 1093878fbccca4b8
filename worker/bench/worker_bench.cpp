// worker_bench: the worker part of `make bench` (issue 8).
//
// 1. Throughput: N no-op records burnt down by the framework (one QueueWorker, concurrency 1, 8, 32),
//    side by side with the raw limit: the same claim and finish statements (QueueStore) issued by a tight
//    loop with no framework (claim `concurrency` records, complete them, repeat).
// 2. Enqueue-to-start latency: records enqueued one at a time (each its own transaction), the next only
//    after the previous started; from just before COMMIT to the handler's first line; NOTIFY on and off.
//
// Runs against a throwaway Postgres (fsync=off, like the tests) unless --database-url is given, and writes
// its figures as Markdown to --output (default: stdout only).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/identity.h"
#include "core/routine.h"
#include "queue/enqueue.h"
#include "queue/queue_job.h"
#include "queue/schema.h"
#include "queue/store.h"
#include "testing/postgres_server.h"
#include "wo/cli.h"
#include "wo/log.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace wo;

const char* kTable = "bench_jobs";

void reset_table(const std::string& dsn, long long n) {
  pqxx::connection c(dsn);
  queue::migrate(c, queue::QueueTable(kTable));
  {
    pqxx::nontransaction tx(c);
    tx.exec(std::string("TRUNCATE ") + kTable);
  }
  constexpr long long kBatch = 5000;
  for (long long done = 0; done < n; done += kBatch) {
    pqxx::work tx(c);
    queue::enqueue_many(tx, kTable,
                        std::vector<std::string>(static_cast<std::size_t>(std::min(kBatch, n - done)), "{}"));
    tx.commit();
  }
  pqxx::nontransaction tx(c);
  tx.exec(std::string("VACUUM ANALYZE ") + kTable);
}

queue::QueueOptions options(int concurrency, bool notify, milliseconds poll) {
  queue::QueueOptions o;
  o.table = kTable;
  o.concurrency = concurrency;
  o.notify = notify;
  o.poll_interval = poll;
  o.resetter = false;
  o.janitor = false;
  o.depth_sample_interval = std::chrono::hours(1);
  return o;
}

// A queue worker in this process, as the worker binary runs it.
struct Running {
  metrics::Registry metrics;
  health::Checks checks;
  worker::RoutineRunner runner{metrics, checks};
  Running(const std::string& dsn, const queue::QueueOptions& o, queue::Handler handler) {
    worker::JobContext ctx;
    ctx.job = "bench";
    ctx.database.url = dsn;
    ctx.metrics = &metrics;
    ctx.worker_id = worker::new_worker_id();
    ctx.hostname = "bench";
    for (auto& r : queue::queue_job_routines(ctx, o, std::move(handler))) runner.add(std::move(r));
    runner.start();
  }
  ~Running() { runner.stop(Clock::now() + std::chrono::seconds(10)); }
};

double framework_rate(const std::string& dsn, long long n, int concurrency) {
  reset_table(dsn, n);
  std::atomic<long long> handled{0};
  auto started = Clock::now();
  Running w(dsn, options(concurrency, true, milliseconds(100)),
            [&](const queue::Record&, const worker::CancelToken&) { ++handled; });
  auto& processed = w.metrics.counter("worker_queue_processed_total", "", {"queue"}).with({kTable});
  while (processed.value() < static_cast<double>(n)) std::this_thread::sleep_for(milliseconds(2));
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return static_cast<double>(n) / seconds;
}

double raw_rate(const std::string& dsn, long long n, int batch) {
  reset_table(dsn, n);
  pqxx::connection c(dsn);
  queue::QueueStore store(queue::QueueTable(kTable), worker::new_worker_id(), "bench");
  auto started = Clock::now();
  long long done = 0;
  while (done < n) {
    auto records = store.claim(c, batch);
    if (records.empty()) break;
    std::vector<queue::Finish> finishes;
    finishes.reserve(records.size());
    for (const auto& r : records) finishes.push_back({r.id, r.attempt_token, queue::Outcome::completed, "", {}});
    done += static_cast<long long>(store.finish(c, finishes, 5).size());
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return static_cast<double>(done) / seconds;
}

struct Latency {
  double p50_ms, p99_ms, max_ms;
  int samples;
};

Latency latency(const std::string& dsn, bool notify, milliseconds poll, int samples) {
  reset_table(dsn, 0);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Clock::time_point> started_at;
  Running w(dsn, options(8, notify, poll), [&](const queue::Record&, const worker::CancelToken&) {
    auto now = Clock::now();
    {
      std::lock_guard lock(mu);
      started_at = now;
    }
    cv.notify_all();
  });
  while (!w.checks.ready().first) std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(300));  // the LISTEN connection is up
  pqxx::connection c(dsn);
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    {
      std::lock_guard lock(mu);
      started_at.reset();
    }
    pqxx::work tx(c);
    queue::enqueue(tx, kTable, "{}");
    auto t0 = Clock::now();
    tx.commit();
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return started_at.has_value(); })) {
      throw std::runtime_error("a record did not start within 30 s");
    }
    ms.push_back(std::chrono::duration<double, std::milli>(*started_at - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))];
  };
  return {at(0.5), at(0.99), ms.back(), samples};
}

// The throughput table's rows, one per concurrency level, to out (and stdout as they come); returns
// them as JSON array elements.
std::string throughput_rows(const std::string& dsn, long long n, const std::vector<int>& levels,
                            std::ostringstream& out) {
  std::string json;
  for (int c : levels) {
    double raw = raw_rate(dsn, n, c);
    double fw = framework_rate(dsn, n, c);
    char entry[256];
    std::snprintf(entry, sizeof entry,
                  "%s{\"concurrency\":%d,\"framework_per_s\":%.1f,\"raw_per_s\":%.1f,\"ratio\":%.3f}",
                  c == levels.front() ? "" : ",", c, fw, raw, fw / raw);
    json += entry;
    char line[256];
    std::snprintf(line, sizeof line, "| %d | %.0f | %.0f | %.0f %% |\n", c, fw, raw, 100.0 * fw / raw);
    out << line;
    std::cout << line << std::flush;
  }
  return json;
}

// The latency section (NOTIFY on, then polling only) to out and stdout; returns its rows as JSON array
// elements.
std::string latency_rows(const std::string& dsn, int samples, std::ostringstream& out) {
  std::ostringstream lat;
  std::string json;
  lat << "\n## Enqueue-to-start latency (ms; sequential, from just before COMMIT to the handler's start)\n\n"
      << "| wake-up | samples | p50 | p99 | max |\n|---|---|---|---|---|\n";
  for (bool notify : {true, false}) {
    milliseconds poll = notify ? milliseconds(1000) : milliseconds(100);
    Latency l = latency(dsn, notify, poll, notify ? samples : std::max(1, samples / 5));
    char entry[256];
    std::snprintf(entry, sizeof entry,
                  "%s{\"notify\":%s,\"samples\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}", notify ? "" : ",",
                  notify ? "true" : "false", l.samples, l.p50_ms, l.p99_ms, l.max_ms);
    json += entry;
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %d | %.2f | %.2f | %.2f |\n",
                  notify ? "NOTIFY (poll 1s fallback)" : "polling only, poll_interval 100ms", l.samples, l.p50_ms,
                  l.p99_ms, l.max_ms);
    lat << line;
  }
  out << lat.str();
  std::cout << lat.str() << std::flush;
  return json;
}

}  // namespace

int main(int argc, char** argv) {
  cli::FlagSet flags("worker_bench",
                     "Measures the worker's queue: throughput vs the raw limit, enqueue-to-start latency.");
  flags.add_string("database-url", "WORKER_DATABASE_URL", "", "Postgres to use (default: a throwaway server)");
  flags.add_int("records", "", 100000, "records per throughput run");
  flags.add_int("latency-samples", "", 1000, "sequential samples with NOTIFY (without: a fifth of it)");
  flags.add_string("output", "", "", "also write the Markdown report to this file");
  flags.add_string("json", "", "", "also write the figures as JSON to this file");
  flags.add_repeated("concurrency", "", "handler concurrency of a throughput run (repeatable; default 1, 8, 32)");
  flags.add_bool("skip-latency", "", false, "throughput only");
  try {
    flags.parse(argc, argv);
  } catch (const cli::UsageError& e) {
    std::cerr << e.what() << "\n" << flags.usage();
    return 2;
  }
  if (flags.get_bool("help")) {
    std::cout << flags.usage();
    return 0;
  }
  log::init({log::Format::text, log::Level::warn, "bench"});
  std::unique_ptr<testing::PostgresServer> server;
  std::string dsn = flags.get_string("database-url");
  if (dsn.empty()) {
    server = std::make_unique<testing::PostgresServer>();
    dsn = server->connection_string();
  }
  long long n = flags.get_int("records");
  int samples = static_cast<int>(flags.get_int("latency-samples"));
  std::ostringstream out;
  out << "# Worker queue benchmark\n\n"
      << "Machine: " << std::thread::hardware_concurrency() << " cores; Postgres "
      << (server ? "throwaway PostgreSQL 15 (fsync=off, synchronous_commit=off)" : "from --database-url") << ".\n"
      << "No-op handler, " << n << " records per run, table truncated, filled and VACUUM ANALYZEd before each run.\n\n"
      << "## Throughput (records/s)\n\n"
      << "| concurrency | framework | raw limit (same statements, tight loop, batch = concurrency) | framework / raw "
         "|\n"
      << "|---|---|---|---|\n";
  std::cout << out.str() << std::flush;
  std::vector<int> levels = {1, 8, 32};
  if (flags.is_set("concurrency")) {
    levels.clear();
    for (const auto& c : flags.get_repeated("concurrency")) levels.push_back(std::stoi(c));
  }
  std::string json = "{\"records\":" + std::to_string(n) + ",\"throughput\":[";
  json += throughput_rows(dsn, n, levels, out);
  json += "],\"latency\":[";
  if (!flags.get_bool("skip-latency")) json += latency_rows(dsn, samples, out);
  json += "]}";
  if (std::string path = flags.get_string("output"); !path.empty()) std::ofstream(path) << out.str();
  if (std::string path = flags.get_string("json"); !path.empty()) std::ofstream(path) << json << "\n";
  log::shutdown();
  return 0;
}
