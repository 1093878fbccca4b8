// queue.command: runs a command for each record of a queue table. The payload goes to the command's
// stdin; exit status 0 completes the record, another status fails the run (retried with backoff, or
// failed at once for the statuses listed in permanent_failure_exit_codes). The tail of the command's
// output becomes the record's failure_message.
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "core/config.h"
#include "core/registry.h"
#include "queue/queue_job.h"
#include "wo/subprocess.h"

namespace wo::jobs {
namespace {

bool is_variable_name(const std::string& name) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  return !name.empty() && alpha(name[0]) &&
         std::all_of(name.begin(), name.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// PATH, HOME and the allowed names, once each; the record's own variables are set per run and win.
std::vector<std::string> command_environment_names(const std::vector<std::string>& env_allow) {
  std::vector<std::string> names = {"PATH", "HOME"};
  for (const auto& name : env_allow) {
    bool per_record = name == "WORKER_QUEUE" || name == "WORKER_RECORD_ID" || name == "WORKER_ATTEMPT" ||
                      name == "WORKER_ATTEMPT_TOKEN";
    if (!per_record && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::vector<std::unique_ptr<wo::worker::Routine>> build(const wo::worker::JobContext& ctx) {
  wo::worker::ConfigReader r(ctx.config);
  auto options = queue::read_queue_options(r);
  auto command = r.string_list("command", true);
  auto output_limit = static_cast<std::size_t>(r.integer("output_limit", 4096, 0, 1 << 20));
  auto permanent = r.integer_list("permanent_failure_exit_codes");
  auto env_allow = r.string_list("env_allow", false);
  for (std::size_t i = 0; i < env_allow.size(); ++i) {
    if (!is_variable_name(env_allow[i])) {
      throw wo::worker::ConfigError(
          r.field("env_allow") + "[" + std::to_string(i) + "]",
          "\"" + env_allow[i] + "\" is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  r.finish();
  // Resolved once, at startup: a command that cannot run fails startup (InvalidConfig) instead of every
  // record at runtime.
  std::optional<std::string> program = wo::subprocess::find_executable(command[0]);
  if (!program) {
    const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): the worker never modifies its environment
    throw wo::worker::ConfigError("command[0]",
                                  "\"" + command[0] + "\" is not an executable file" +
                                      (command[0].find('/') != std::string::npos
                                           ? std::string()
                                           : " in any directory of PATH (" + std::string(path ? path : "unset") + ")"));
  }
  // The command gets a minimal environment, never the worker's own (it holds the database URL and maybe
  // its password, WORKER_DATABASE_URL or PG*): the record's variables, PATH, HOME and the names the
  // configuration allows, with their values at startup.
  std::vector<std::string> base_env;
  for (const std::string& name : command_environment_names(env_allow)) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): the worker never modifies its environment
    if (const char* value = std::getenv(name.c_str())) base_env.push_back(name + "=" + value);
  }
  std::string table = options.table;
  auto handler = [program = *program, command, base_env, output_limit, permanent, table](
                     const queue::Record& rec, const wo::worker::CancelToken& token) {
    std::vector<std::string> env = base_env;
    env.insert(env.end(),
               {"WORKER_QUEUE=" + table, "WORKER_RECORD_ID=" + std::to_string(rec.id),
                "WORKER_ATTEMPT=" + std::to_string(rec.num_failures + 1), "WORKER_ATTEMPT_TOKEN=" + rec.attempt_token});
    wo::subprocess::Command c;
    c.program = program;
    c.argv = command;
    c.env = std::move(env);
    c.input = rec.payload;
    c.output_limit = output_limit;
    const wo::subprocess::Result res = wo::subprocess::run(c, token.stop_token());
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
                       "WORKER_QUEUE, WORKER_RECORD_ID, WORKER_ATTEMPT, WORKER_ATTEMPT_TOKEN\n"
                       "env_allow ([]): names of the worker's environment variables the command also gets (besides "
                       "PATH and HOME); never the database URL or PG* unless listed\n"
                       "output_limit (4096): bytes of output kept (the tail) in failure_message\n"
                       "permanent_failure_exit_codes ([]): exit statuses that fail a record without retry\n") +
                   queue::kQueueOptionsHelp,
    .build = &build,
});

}  // namespace
}  // namespace wo::jobs
