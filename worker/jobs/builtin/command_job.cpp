// queue.command: runs a command for each record of a queue table. The payload goes to the command's
// stdin; exit status 0 completes the record, another status fails the run (retried with backoff, or
// failed at once for the statuses listed in permanent_failure_exit_codes). The tail of the command's
// output becomes the record's failure_message.
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "core/config.h"
#include "core/registry.h"
#include "jobs/builtin/subprocess.h"
#include "queue/queue_job.h"

namespace wo::jobs {
namespace {

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  auto options = queue::read_queue_options(r);
  auto command = r.string_list("command", true);
  auto output_limit = static_cast<std::size_t>(r.integer("output_limit", 4096, 0, 1 << 20));
  auto permanent = r.integer_list("permanent_failure_exit_codes");
  r.finish();
  // Resolved once, at startup: a command that cannot run fails startup (InvalidConfig) instead of every
  // record at runtime.
  std::optional<std::string> program = find_executable(command[0]);
  if (!program) {
    const char* path = std::getenv("PATH");
    throw wo::worker::ConfigError("command[0]",
                                  "\"" + command[0] + "\" is not an executable file" +
                                      (command[0].find('/') != std::string::npos
                                           ? std::string()
                                           : " in any directory of PATH (" + std::string(path ? path : "unset") + ")"));
  }
  std::string table = options.table;
  auto handler = [program = *program, command, output_limit, permanent, table](const queue::Record& rec,
                                                                               const wo::worker::CancelToken& token) {
    std::vector<std::string> env = {"WORKER_QUEUE=" + table, "WORKER_RECORD_ID=" + std::to_string(rec.id),
                                    "WORKER_ATTEMPT=" + std::to_string(rec.num_failures + 1)};
    SubprocessResult res = run_subprocess(program, command, env, rec.payload, output_limit, token);
    // A command that exited by itself decides its outcome, even if a cancellation arrived just after;
    // one that was stopped on the token ends by the token's reason, whatever its exit status.
    if (res.stopped) token.throw_if_cancelled();
    if (res.signal == 0 && res.exit_code == 0) return;
    std::string what = res.signal != 0 ? "command killed by signal " + std::to_string(res.signal)
                                       : "command exited with status " + std::to_string(res.exit_code);
    if (!res.output.empty()) what += ": " + std::string(res.truncated ? "..." : "") + res.output;
    if (res.signal == 0 && std::find(permanent.begin(), permanent.end(), res.exit_code) != permanent.end()) {
      throw queue::PermanentError(what);
    }
    throw std::runtime_error(what);
  };
  return queue::queue_job_routines(ctx, options, handler);
}

// Static registration may only throw on allocation failure, which terminating at startup handles correctly.
// NOLINTNEXTLINE(cert-err58-cpp)
const wo::worker::Registrar registrar({
    .name = "queue.command",
    .description = "Runs a command for each record of a queue table (payload on stdin, exit status decides)",
    .config_help = std::string(
                       "command (required): argv list, e.g. [\"/usr/bin/convert\", \"--fast\"]; command[0] must be an "
                       "executable file (a name without / is looked up in PATH at startup); env "
                       "WORKER_QUEUE, WORKER_RECORD_ID, WORKER_ATTEMPT\n"
                       "output_limit (4096): bytes of output kept (the tail) in failure_message\n"
                       "permanent_failure_exit_codes ([]): exit statuses that fail a record without retry\n") +
                   queue::kQueueOptionsHelp,
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs
