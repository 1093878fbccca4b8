// example.greeter: the template for a team's own C++ job. Copy this folder, rename the job, write the
// handler, add the .cpp to wo_worker_jobs in worker/CMakeLists.txt. Nothing else to register: the
// Registrar at the bottom adds the job to the binary (see README.md beside this file).
//
// This job greets: for each record of its queue it logs the payload with the configured greeting, and
// stores the greeting in a table of its own (example_greetings) through its own connection, showing how
// a handler uses the database without holding the queue's connection.
#include <mutex>

#include "core/config.h"
#include "core/registry.h"
#include "queue/queue_job.h"
#include "wo/log.h"

namespace wo::jobs::example {
namespace {

// 1. The job's own configuration, read and validated in one place. ConfigReader errors name the field.
struct GreeterConfig {
  queue::QueueOptions queue;  // the standard queue keys (table, concurrency, ...)
  std::string greeting;
};

GreeterConfig read_config(const YAML::Node& node) {
  wo::worker::ConfigReader r(node);
  GreeterConfig c;
  c.queue = queue::read_queue_options(r);
  c.greeting = r.string("greeting", "Hello");
  if (c.greeting.size() > 100) throw wo::worker::ConfigError("greeting", "must be at most 100 characters");
  r.finish();  // rejects unknown keys (typos)
  return c;
}

// 2. The handler: one record at a time, on a handler thread. Return = completed; throw = retried later.
class Greeter {
 public:
  Greeter(std::string greeting, wo::worker::DatabaseOptions db) : greeting_(std::move(greeting)), db_(std::move(db)) {}

  void handle(const queue::Record& record, const wo::worker::CancelToken& token) {
    token.throw_if_cancelled();
    wo::log::info("example.greeter", {{"greeting", greeting_}, {"payload", record.payload}, {"id", record.id}});
    // Each handler thread has its own connection (libpqxx connections are single-threaded).
    thread_local std::unique_ptr<pqxx::connection> conn;
    if (!conn || !conn->is_open()) conn = wo::worker::connect(db_);
    pqxx::work tx(*conn);
    tx.exec("CREATE TABLE IF NOT EXISTS example_greetings (record_id bigint PRIMARY KEY, greeting text NOT NULL)");
    // Idempotent: at-least-once delivery means a record can be handled twice (e.g. after a crash).
    tx.exec_params(
        "INSERT INTO example_greetings VALUES ($1, $2 || ' ' || ($3::jsonb ->> 'name'))"
        " ON CONFLICT (record_id) DO NOTHING",
        record.id, greeting_, record.payload);
    tx.commit();
  }

 private:
  std::string greeting_;
  wo::worker::DatabaseOptions db_;
};

// 3. build(): configuration in, routines out. No connections here: the worker calls it to validate too.
std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  GreeterConfig config = read_config(ctx.config);
  auto greeter = std::make_shared<Greeter>(config.greeting, ctx.database);
  return queue::queue_job_routines(
      ctx, config.queue,
      [greeter](const queue::Record& r, const wo::worker::CancelToken& t) { greeter->handle(r, t); });
}

// 4. Registration: the name is what WorkerJob.spec.job and --job use.
// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "example.greeter",
    .description = "Example C++ job: greets each record's payload and stores the greeting (a template to copy)",
    .config_help = std::string("greeting (Hello): the word to greet with\n") + queue::kQueueOptionsHelp,
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs::example
