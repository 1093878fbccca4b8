// worker_bench: the worker part of `make bench`.
//
// 1. Throughput: N no-op records burnt down by the framework (one QueueWorker, concurrency 1, 8, 32),
//    side by side with the raw limit: the same claim and finish statements (QueueStore) issued by a tight
//    loop with no framework (claim `concurrency` records, complete them, repeat).
// 2. Enqueue-to-start latency: records enqueued one at a time (each its own transaction), the next only
//    after the previous started; from just before COMMIT to the handler's first line; NOTIFY on and off;
//    and the floor of the NOTIFY path on this machine: the same enqueue, a bare LISTEN connection and the
//    same claim statement in one thread, no framework.
//
// Every figure is measured in --rounds rounds, the framework and its raw counterpart alternating which
// goes first, and reported as the median of the rounds with their minimum, maximum and values: a single
// run on a shared machine says more about the machine's load than about the code. A wait that passes its
// limit fails the benchmark (exit 1, no figures written).
//
// Runs against a throwaway Postgres (fsync=off, like the tests) unless --database-url is given; writes its
// figures as JSON to --json and as Markdown to --output (and stdout), both from the same figures.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include "core/identity.h"
#include "core/routine.h"
#include "queue/enqueue.h"
#include "queue/queue_job.h"
#include "queue/schema.h"
#include "queue/store.h"
#include "testing/figures.h"
#include "testing/postgres_server.h"
#include "wo/cli.h"
#include "wo/log.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace wo;
using wo::testing::load_average;
using wo::testing::percentile;
using wo::testing::summarize;
using wo::testing::Summary;

const char* kTable = "bench_jobs";
// How long a record may take to start, and a worker to become ready or to LISTEN, before the bench
// fails: generous, since a record normally starts within a poll interval.
constexpr auto kStartTimeout = std::chrono::seconds(30);
// Records enqueued and started before a latency run's samples, not counted: the first claim of a
// connection also prepares its statement.
constexpr int kWarmup = 5;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string json_number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string json_summary(const Summary& s, int decimals) {
  std::string out = "{\"median\":" + json_number(s.median, decimals) + ",\"min\":" + json_number(s.min, decimals) +
                    ",\"max\":" + json_number(s.max, decimals) + ",\"samples\":[";
  for (std::size_t i = 0; i < s.samples.size(); ++i) out += (i ? "," : "") + json_number(s.samples[i], decimals);
  return out + "]}";
}

// "median (min to max)", for the Markdown tables.
std::string cell(const Summary& s, int decimals, double scale = 1) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.*f (%.*f to %.*f)", decimals, scale * s.median, decimals, scale * s.min, decimals,
                scale * s.max);
  return buf;
}

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
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  // Throws when a routine died: its records would never be processed.
  void check_live(const std::string& what) const {
    if (auto [live, reason] = checks.live(); !live)
      throw std::runtime_error(what + ": the queue worker died: " + reason);
  }
};

double framework_rate(const std::string& dsn, long long n, int concurrency, milliseconds timeout) {
  reset_table(dsn, n);
  const std::string what = "framework burn-down at concurrency " + std::to_string(concurrency);
  auto started = Clock::now();
  Running w(dsn, options(concurrency, true, milliseconds(100)),
            [](const queue::Record&, const worker::CancelToken&) {});
  auto& processed = w.metrics.counter("worker_queue_processed_total", "", {"queue"}).with({kTable});
  while (processed.value() < static_cast<double>(n)) {
    w.check_live(what);
    if (Clock::now() - started > timeout) {
      throw std::runtime_error(what + ": only " + json_number(processed.value(), 0) + " of " + std::to_string(n) +
                               " records processed within " + cli::format_duration(timeout));
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - started).count();
}

double raw_rate(const std::string& dsn, long long n, int batch, milliseconds timeout) {
  reset_table(dsn, n);
  const std::string what = "raw loop at batch " + std::to_string(batch);
  pqxx::connection c(dsn);
  queue::QueueStore store(queue::QueueTable(kTable), worker::new_worker_id(), "bench");
  auto started = Clock::now();
  long long done = 0;
  while (done < n) {
    if (Clock::now() - started > timeout) {
      throw std::runtime_error(what + ": only " + std::to_string(done) + " of " + std::to_string(n) +
                               " records finished within " + cli::format_duration(timeout));
    }
    auto records = store.claim(c, batch);
    if (records.empty()) {
      throw std::runtime_error(what + ": nothing left to claim with " + std::to_string(done) + " of " +
                               std::to_string(n) + " records finished");
    }
    std::vector<queue::Finish> finishes;
    finishes.reserve(records.size());
    for (const auto& r : records) finishes.push_back({r.id, r.attempt_token, queue::Outcome::completed, "", {}});
    done += static_cast<long long>(store.finish(c, finishes, 5).size());
  }
  return static_cast<double>(done) / std::chrono::duration<double>(Clock::now() - started).count();
}

// One concurrency's rounds: framework and raw loop alternate which goes first, each on a fresh table.
struct ThroughputRow {
  int concurrency;
  Summary framework, raw, ratio;
};

ThroughputRow throughput(const std::string& dsn, long long n, int concurrency, int rounds, milliseconds timeout) {
  std::vector<double> fw, raw, ratio;
  for (int r = 0; r < rounds; ++r) {
    double f = 0, w = 0;
    if (r % 2 == 0) {
      f = framework_rate(dsn, n, concurrency, timeout);
      w = raw_rate(dsn, n, concurrency, timeout);
    } else {
      w = raw_rate(dsn, n, concurrency, timeout);
      f = framework_rate(dsn, n, concurrency, timeout);
    }
    fw.push_back(f);
    raw.push_back(w);
    ratio.push_back(f / w);
    std::cerr << "worker_bench: concurrency " << concurrency << ", round " << r + 1 << "/" << rounds << ": framework "
              << json_number(f, 0) << "/s, raw " << json_number(w, 0) << "/s\n";
  }
  return {concurrency, summarize(fw), summarize(raw), summarize(ratio)};
}

// Waits until the worker is ready and, with NOTIFY, its LISTEN connection listens: a record enqueued
// before that would be found by the first claim or a poll, not by the path measured.
void wait_listening(const std::string& dsn, Running& w, bool notify) {
  const auto deadline = Clock::now() + kStartTimeout;
  while (!w.checks.ready().first) {
    w.check_live("latency run");
    if (Clock::now() > deadline) throw std::runtime_error("latency run: the queue worker was not ready within 30 s");
    std::this_thread::sleep_for(milliseconds(5));
  }
  if (!notify) return;
  pqxx::connection c(dsn);
  const std::string channel = queue::QueueTable(kTable).channel();
  for (;;) {
    pqxx::nontransaction tx(c);
    auto listening =
        tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' || $1 || '%'", channel)[0]
            .as<int>();
    if (listening > 0) return;
    if (Clock::now() > deadline) {
      throw std::runtime_error("latency run: no session LISTENs on " + channel + " within 30 s");
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// One latency run's samples (ms), the first kWarmup left out.
std::vector<double> latency_samples(const std::string& dsn, bool notify, milliseconds poll, int samples) {
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
  wait_listening(dsn, w, notify);
  pqxx::connection c(dsn);
  std::vector<double> ms;
  for (int i = 0; i < kWarmup + samples; ++i) {
    {
      std::lock_guard lock(mu);
      started_at.reset();
    }
    pqxx::work tx(c);
    queue::enqueue(tx, kTable, "{}");
    auto t0 = Clock::now();
    tx.commit();
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, kStartTimeout, [&] { return started_at.has_value(); })) {
      throw std::runtime_error(std::string("latency run (") + (notify ? "NOTIFY" : "polling only") + "): record " +
                               std::to_string(i + 1) + " did not start within 30 s");
    }
    if (i >= kWarmup) ms.push_back(ms_between(t0, *started_at));
  }
  return ms;
}

struct NotifyFlag final : pqxx::notification_receiver {
  NotifyFlag(pqxx::connection_base& c, const std::string& channel) : pqxx::notification_receiver(c, channel) {}
  void operator()(const std::string&, int) override { seen = true; }
  bool seen = false;
};

// Waits on the LISTEN connection's socket until a notification arrived, at most until deadline.
void wait_notified(pqxx::connection& c, NotifyFlag& flag, Clock::time_point deadline) {
  while (c.get_notifs() == 0 || !flag.seen) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) throw std::runtime_error("latency floor: no NOTIFY arrived within 30 s of a commit");
    pollfd fd{c.sock(), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "latency floor: poll on the LISTEN connection");
    }
  }
}

// The NOTIFY path without the framework, in one thread: from just before COMMIT to the notification read
// on a bare LISTEN connection (notified), and to the same claim statement's answer on a second connection
// (claimed). What no worker on this machine can beat.
struct FloorSamples {
  std::vector<double> notified, claimed;
};

FloorSamples latency_floor_samples(const std::string& dsn, int samples) {
  reset_table(dsn, 0);
  pqxx::connection listen(dsn), claim(dsn), produce(dsn);
  NotifyFlag flag(listen, queue::QueueTable(kTable).channel());
  queue::QueueStore store(queue::QueueTable(kTable), worker::new_worker_id(), "bench");
  FloorSamples out;
  for (int i = 0; i < kWarmup + samples; ++i) {
    flag.seen = false;
    pqxx::work tx(produce);
    queue::enqueue(tx, kTable, "{}");
    const auto t0 = Clock::now();
    tx.commit();
    wait_notified(listen, flag, t0 + kStartTimeout);
    const auto notified = Clock::now();
    auto records = store.claim(claim, 8);
    const auto claimed = Clock::now();
    if (records.size() != 1) throw std::runtime_error("latency floor: the claim after a NOTIFY found no record");
    store.finish(claim, {{records[0].id, records[0].attempt_token, queue::Outcome::completed, "", {}}}, 5);
    if (i < kWarmup) continue;
    out.notified.push_back(ms_between(t0, notified));
    out.claimed.push_back(ms_between(t0, claimed));
  }
  return out;
}

// Each round's p50, p99 and max, summarised over the rounds.
struct LatencyRow {
  bool notify;
  int samples;  // per round
  Summary p50, p99, max;
};

struct FloorRow {
  int samples;  // per round
  Summary notified_p50, claimed_p50, claimed_p99;
};

struct Percentiles {
  std::vector<double> p50, p99, max;
  void add(const std::vector<double>& ms) {
    p50.push_back(percentile(ms, 0.5));
    p99.push_back(percentile(ms, 0.99));
    max.push_back(*std::max_element(ms.begin(), ms.end()));
  }
};

// The latency rounds: the framework with NOTIFY and the floor alternate which goes first; polling only
// follows them.
std::pair<std::vector<LatencyRow>, FloorRow> latency(const std::string& dsn, int samples, int rounds) {
  const int polling_samples = std::max(1, samples / 5);
  Percentiles notify, polling, floor_notified, floor_claimed;
  for (int r = 0; r < rounds; ++r) {
    auto run_floor = [&] {
      FloorSamples f = latency_floor_samples(dsn, samples);
      floor_notified.add(f.notified);
      floor_claimed.add(f.claimed);
    };
    if (r % 2 == 1) run_floor();
    notify.add(latency_samples(dsn, true, milliseconds(1000), samples));
    if (r % 2 == 0) run_floor();
    polling.add(latency_samples(dsn, false, milliseconds(100), polling_samples));
    std::cerr << "worker_bench: latency round " << r + 1 << "/" << rounds << ": NOTIFY p50 "
              << json_number(notify.p50.back(), 2) << " ms, floor p50 " << json_number(floor_claimed.p50.back(), 2)
              << " ms, polling p50 " << json_number(polling.p50.back(), 2) << " ms\n";
  }
  std::vector<LatencyRow> rows = {
      {true, samples, summarize(notify.p50), summarize(notify.p99), summarize(notify.max)},
      {false, polling_samples, summarize(polling.p50), summarize(polling.p99), summarize(polling.max)}};
  return {rows, {samples, summarize(floor_notified.p50), summarize(floor_claimed.p50), summarize(floor_claimed.p99)}};
}

struct Report {
  long long records = 0;
  int rounds = 0;
  std::string machine, load_before, load_after;
  std::vector<ThroughputRow> throughput;
  std::vector<LatencyRow> latency;
  std::optional<FloorRow> floor;
};

std::string method(const Report& r) {
  const std::string rounds = std::to_string(r.rounds);
  std::string m =
      "Throughput: for each handler concurrency, " + rounds +
      " rounds; in each the framework (one in-process queue worker, no-op handler) and the raw limit (the same "
      "claim and finish statements in a tight loop with no framework, batch = concurrency) each burn down " +
      std::to_string(r.records) +
      " records from a freshly truncated, filled and VACUUM ANALYZEd table, alternating which goes first (the "
      "framework in even rounds, the raw loop in odd ones) so that a shared machine's load falls on both alike. "
      "Every figure is the median of the rounds with their minimum and maximum (samples: each round's value, in "
      "order); framework / raw is computed within each round and summarised the same way.";
  if (r.latency.empty()) return m;
  return m +
         " Latency: records enqueued one at a time, each committed and the next only after the previous one "
         "started, from just before COMMIT to the handler's first line, after " +
         std::to_string(kWarmup) +
         " uncounted warm-up records, with NOTIFY (polling every 1 s as fallback) and polling only (every 100 ms, "
         "a fifth of the samples); p50, p99 and max are computed within each round from that round's samples "
         "(samples: per round) and reported as the median over the rounds with their range, not pooled. The "
         "floor, in the same rounds (alternating with the NOTIFY run): the same enqueue, then one thread reads "
         "the notification on a bare LISTEN connection and issues the same claim statement on a second one, no "
         "framework. A wait that passes its limit fails the benchmark, without figures.";
}

std::string to_json(const Report& r) {
  std::string j =
      "{\"records\":" + std::to_string(r.records) + ",\"rounds\":" + std::to_string(r.rounds) + ",\"throughput\":[";
  for (std::size_t i = 0; i < r.throughput.size(); ++i) {
    const auto& t = r.throughput[i];
    j += std::string(i ? "," : "") + "{\"concurrency\":" + std::to_string(t.concurrency) +
         ",\"framework_per_s\":" + json_summary(t.framework, 1) + ",\"raw_per_s\":" + json_summary(t.raw, 1) +
         ",\"ratio\":" + json_summary(t.ratio, 3) + "}";
  }
  j += "],\"latency\":[";
  for (std::size_t i = 0; i < r.latency.size(); ++i) {
    const auto& l = r.latency[i];
    j += std::string(i ? "," : "") + "{\"notify\":" + (l.notify ? "true" : "false") +
         ",\"samples\":" + std::to_string(l.samples) + ",\"p50_ms\":" + json_summary(l.p50, 3) +
         ",\"p99_ms\":" + json_summary(l.p99, 3) + ",\"max_ms\":" + json_summary(l.max, 3) + "}";
  }
  j += "]";
  if (r.floor) {
    j += ",\"latency_floor\":{\"samples\":" + std::to_string(r.floor->samples) +
         ",\"notified_p50_ms\":" + json_summary(r.floor->notified_p50, 3) +
         ",\"claimed_p50_ms\":" + json_summary(r.floor->claimed_p50, 3) +
         ",\"claimed_p99_ms\":" + json_summary(r.floor->claimed_p99, 3) + "}";
  }
  // Every character of method() and the load averages is plain ASCII without quotes or backslashes.
  return j + ",\"load_average\":{\"start\":\"" + r.load_before + "\",\"end\":\"" + r.load_after + "\"},\"method\":\"" +
         method(r) + "\"}\n";
}

std::string to_markdown(const Report& r) {
  std::ostringstream md;
  md << "# Worker queue benchmark\n\n"
     << r.machine << " Load average (1, 5, 15 min) " << r.load_before << " at the start, " << r.load_after
     << " at the end.\n\n"
     << method(r) << "\n\n## Throughput (records/s; median (min to max) of " << r.rounds << " rounds)\n\n"
     << "| concurrency | framework | raw limit | framework / raw |\n|---|---|---|---|\n";
  for (const auto& t : r.throughput) {
    md << "| " << t.concurrency << " | " << cell(t.framework, 0) << " | " << cell(t.raw, 0) << " | "
       << cell(t.ratio, 0, 100) << " % |\n";
  }
  if (r.latency.empty()) return md.str();
  md << "\n## Enqueue-to-start latency (ms; median (min to max) of " << r.rounds << " rounds' figures)\n\n"
     << "| wake-up | samples per round | p50 | p99 | max |\n|---|---|---|---|---|\n";
  for (const auto& l : r.latency) {
    md << "| " << (l.notify ? "NOTIFY (polling every 1 s as fallback)" : "polling only, every 100 ms") << " | "
       << l.samples << " | " << cell(l.p50, 2) << " | " << cell(l.p99, 2) << " | " << cell(l.max, 2) << " |\n";
  }
  if (r.floor) {
    md << "\nFloor (no framework, " << r.floor->samples << " samples per round): NOTIFY read p50 "
       << cell(r.floor->notified_p50, 2) << " ms; claim answered p50 " << cell(r.floor->claimed_p50, 2) << " ms, p99 "
       << cell(r.floor->claimed_p99, 2) << " ms.\n";
  }
  return md.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

void add_flags(cli::FlagSet& flags) {
  flags.add_string("database-url", "WORKER_DATABASE_URL", "", "Postgres to use (default: a throwaway server)");
  flags.add_int("records", "", 100000, "records per throughput run");
  flags.add_int("rounds", "", 3, "rounds per figure (median, min and max are reported)");
  flags.add_int("latency-samples", "", 1000, "sequential samples per round with NOTIFY (polling only: a fifth)");
  flags.add_duration("timeout", "", milliseconds(600000), "longest a burn-down may take before the bench fails");
  flags.add_string("output", "", "", "also write the Markdown report to this file");
  flags.add_string("json", "", "", "also write the figures as JSON to this file");
  flags.add_repeated("concurrency", "", "handler concurrency of a throughput run (repeatable; default 1, 8, 32)");
  flags.add_bool("skip-latency", "", false, "throughput only");
}

Report run(const cli::FlagSet& flags, const std::string& dsn, const std::string& machine) {
  Report r;
  r.records = flags.get_int("records");
  r.rounds = static_cast<int>(flags.get_int("rounds"));
  const int samples = static_cast<int>(flags.get_int("latency-samples"));
  if (r.records < 1 || r.rounds < 1 || samples < 1) {
    throw cli::UsageError("--records, --rounds and --latency-samples must be at least 1");
  }
  std::vector<int> levels = {1, 8, 32};
  if (flags.is_set("concurrency")) {
    levels.clear();
    for (const auto& c : flags.get_repeated("concurrency")) {
      std::size_t used = 0;
      int level = 0;
      try {
        level = std::stoi(c, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != c.size() || level < 1)
        throw cli::UsageError("--concurrency must be an integer of at least 1, got " + c);
      levels.push_back(level);
    }
  }
  r.machine = machine;
  r.load_before = load_average();
  for (int c : levels) r.throughput.push_back(throughput(dsn, r.records, c, r.rounds, flags.get_duration("timeout")));
  if (!flags.get_bool("skip-latency")) std::tie(r.latency, r.floor) = latency(dsn, samples, r.rounds);
  r.load_after = load_average();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  cli::FlagSet flags("worker_bench",
                     "Measures the worker's queue: throughput vs the raw limit, enqueue-to-start latency.");
  add_flags(flags);
  try {
    flags.parse(argc, argv);
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
    const std::string machine =
        std::to_string(std::thread::hardware_concurrency()) + " cores; Postgres: " +
        (server ? "a throwaway PostgreSQL 15 (fsync, synchronous_commit and full_page_writes off)."
                : "--database-url.");
    const Report report = run(flags, dsn, machine);
    const std::string markdown = to_markdown(report);
    std::cout << markdown << std::flush;
    if (std::string path = flags.get_string("output"); !path.empty()) write_file(path, markdown);
    if (std::string path = flags.get_string("json"); !path.empty()) write_file(path, to_json(report));
    log::shutdown();
    return 0;
  } catch (const cli::UsageError& e) {
    std::cerr << e.what() << "\n" << flags.usage();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "worker_bench: FAILED, no figures written: " << e.what() << "\n";
    return 1;
  }
}
