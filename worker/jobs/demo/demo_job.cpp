// demo.sleep: a DEMO job for the end-to-end demo and tests, not for production. It processes records of
// a queue table by sleeping, and can misbehave on purpose: fail a share of records, crash the process,
// or leak memory until the container is OOMKilled. It can also produce its own records.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "jobs/demo/demo_job.h"

#include "core/config.h"
#include "core/periodic.h"
#include "core/registry.h"
#include "queue/enqueue.h"
#include "queue/queue_job.h"
#include "queue/schema.h"
#include "wo/log.h"
#include "wo/process.h"

namespace wo::jobs {
namespace {

using std::chrono::milliseconds;

// Exits the process abruptly after a delay, like a crashing job (exit status 3, termination message).
class CrashRoutine : public wo::worker::Routine {
 public:
  CrashRoutine(milliseconds after, std::string termination_log)
      : after_(after), termination_log_(std::move(termination_log)) {}
  std::string name() const override { return "demo-crash"; }
  void run(wo::worker::RoutineContext& ctx) override {
    ctx.set_ready(true);
    if (!ctx.sleep_for(after_)) return;
    wo::log::error("demo.sleep: crashing on purpose (crash_after)");
    wo::process::write_termination_message("DemoCrash: demo.sleep crashed on purpose after crash_after\n",
                                           termination_log_);
    wo::log::shutdown();
    std::_Exit(3);
  }

 private:
  milliseconds after_;
  std::string termination_log_;
};

// Allocates and touches memory every second, never freeing it, until the kernel kills the process.
class LeakRoutine : public wo::worker::Routine {
 public:
  explicit LeakRoutine(long long mb_per_second) : mb_(mb_per_second) {}
  std::string name() const override { return "demo-leak"; }
  void run(wo::worker::RoutineContext& ctx) override {
    ctx.set_ready(true);
    std::vector<std::unique_ptr<char[]>> leaked;
    while (ctx.sleep_for(milliseconds(1000))) {
      ctx.progress();
      auto bytes = static_cast<std::size_t>(mb_) << 20;
      leaked.push_back(std::make_unique<char[]>(bytes));
      std::memset(leaked.back().get(), 1, bytes);  // touch it, so it counts against the memory limit
      wo::log::info("demo.sleep: leaked memory", {{"total_mb", static_cast<long long>(leaked.size()) * mb_}});
    }
  }

 private:
  long long mb_;
};

}  // namespace

std::vector<std::unique_ptr<wo::worker::Routine>> build_demo_job(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  auto options = queue::read_queue_options(r);
  auto sleep = r.duration("sleep", milliseconds(100));
  double fail_percent = r.number("fail_percent", 0, 0, 100);
  auto produce = r.integer("produce_per_second", 0, 0, 100000);
  auto crash_after = r.duration("crash_after", milliseconds(0));
  auto leak = r.integer("leak_mb_per_second", 0, 0, 4096);
  r.finish();

  auto handler = [sleep, fail_percent](const queue::Record&, const wo::worker::CancelToken& token) {
    thread_local std::mt19937 rng{std::random_device{}()};
    if (token.wait_for(sleep)) token.throw_if_cancelled();
    if (fail_percent > 0 && std::uniform_real_distribution<double>(0, 100)(rng) < fail_percent) {
      throw std::runtime_error("demo.sleep: failing on purpose (fail_percent)");
    }
  };
  auto out = queue::queue_job_routines(ctx, options, handler);
  if (produce > 0) {
    wo::worker::PeriodicOptions p;
    p.name = "demo-producer:" + options.table;
    p.interval = milliseconds(1000);
    p.jitter = 0;
    p.database = ctx.database;
    std::string table = options.table;
    auto migrated = std::make_shared<bool>(false);
    out.push_back(std::make_unique<wo::worker::PeriodicRoutine>(
        p,
        [table, produce, migrated](pqxx::connection* conn) {
          if (!*migrated) {
            queue::migrate(*conn, queue::QueueTable(table));
            *migrated = true;
          }
          pqxx::work tx(*conn);
          queue::enqueue_many(tx, table,
                              std::vector<std::string>(static_cast<std::size_t>(produce), "{\"demo\": true}"));
          tx.commit();
        },
        *ctx.metrics));
  }
  if (crash_after.count() > 0)
    out.push_back(std::make_unique<CrashRoutine>(crash_after, ctx.termination_log.empty()
                                                                  ? std::string(wo::process::kTerminationLogPath)
                                                                  : ctx.termination_log));
  if (leak > 0) out.push_back(std::make_unique<LeakRoutine>(leak));
  return out;
}

const std::string& demo_job_config_help() {
  static const std::string help = std::string(
                                      "sleep (100ms): time spent per record (cancellable)\n"
                                      "fail_percent (0): share of runs that fail (0-100)\n"
                                      "produce_per_second (0): records this job enqueues itself each second\n"
                                      "crash_after (0 = never): exit with status 3 after this long (a crashing job)\n"
                                      "leak_mb_per_second (0): leak this much memory per second (until OOMKilled)\n") +
                                  queue::kQueueOptionsHelp;
  return help;
}

namespace {

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "demo.sleep",
    .description = "DEMO ONLY: processes queue records by sleeping; can fail, crash or leak memory on purpose",
    .config_help = demo_job_config_help(),
    .build = &build_demo_job,
});

}  // namespace
}  // namespace wo::jobs
