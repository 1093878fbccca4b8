#include "core/app.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>

#include "core/config.h"
#include "core/database.h"
#include "core/identity.h"
#include "core/registry.h"
#include "core/routine.h"
#include "core/status_page.h"
#include "wo/cli.h"
#include "wo/health.h"
#include "wo/http_server.h"
#include "wo/log.h"
#include "wo/metrics.h"
#include "wo/process.h"
#include "wo/process_metrics.h"
#include "wo/version.h"

namespace wo::worker {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// A fatal error: stderr for humans, the termination log for the operator ("<Reason>: <message>").
struct Fatal {
  int code;
  std::string reason;
  std::string message;
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

void declare_flags(wo::cli::FlagSet& flags) {
  flags.add_repeated(
      "job", "WORKER_JOB",
      "job to run (repeatable; \"all\" runs every registered job in one process: local development only)");
  flags.add_bool("list-jobs", "", false, "print each job's name and one-line description, then exit");
  flags.add_string("describe-job", "", "", "print a job's description and configuration keys, then exit");
  declare_config_flag(flags);
  flags.add_string("http-addr", "WORKER_HTTP_ADDR", ":8080",
                   "listen address for /healthz, /readyz, /metrics and the status page at /");
  flags.add_duration("shutdown-timeout", "WORKER_SHUTDOWN_TIMEOUT", std::chrono::seconds(25),
                     "on SIGTERM, time to finish running handlers and hand the rest back");
  declare_database_flags(flags);
  flags.add_string("log-format", "WORKER_LOG_FORMAT", "json", "json | text");
  flags.add_string("log-level", "WORKER_LOG_LEVEL", "info", "trace | debug | info | warn | error");
  flags.add_string("termination-log", "WORKER_TERMINATION_LOG", std::string(wo::process::kTerminationLogPath),
                   "where fatal errors are written for Kubernetes");
}

std::vector<const JobDefinition*> select_jobs(const std::vector<std::string>& requested) {
  const Registry& registry = Registry::global();
  if (requested.empty()) {
    throw Fatal{kExitUsage, "UsageError",
                "no job selected: pass --job=NAME (known jobs: " + join(registry.names()) + ")"};
  }
  std::vector<const JobDefinition*> out;
  std::set<std::string> seen;
  for (const auto& name : requested) {
    if (name == "all") {
      for (const auto* j : registry.all()) {
        if (seen.insert(j->name).second) out.push_back(j);
      }
      continue;
    }
    const JobDefinition* j = registry.find(name);
    if (j == nullptr) {
      throw Fatal{kExitUsage, "UnknownJob", "unknown job \"" + name + "\"; known jobs: " + join(registry.names())};
    }
    if (seen.insert(j->name).second) out.push_back(j);
  }
  return out;
}

YAML::Node load_config(const wo::cli::FlagSet& flags) {
  try {
    return load_config_file(flags.get_string("config"));
  } catch (const ConfigFileError& e) {
    throw Fatal{kExitUsage, "InvalidConfig", e.what()};
  }
}

// One job: the whole file. Several jobs (--job repeated or all): the file's `jobs:` mapping, keyed by name.
YAML::Node job_config(const YAML::Node& root, const std::string& job, bool several) {
  if (!several || !root.IsMap()) return root;
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "jobs") {
      throw Fatal{kExitUsage, "InvalidConfig",
                  "field \"" + kv.first.Scalar() +
                      "\": with several jobs in one process the config file must hold only a `jobs:` mapping "
                      "keyed by job name"};
    }
  }
  YAML::Node jobs = root["jobs"];
  if (jobs.IsDefined() && !jobs.IsNull() && !jobs.IsMap()) {
    throw Fatal{kExitUsage, "InvalidConfig", "field \"jobs\": must be a mapping keyed by job name"};
  }
  return jobs.IsMap() ? jobs[job] : YAML::Node(YAML::NodeType::Null);
}

// --list-jobs and --describe-job: prints and returns true when one of them was given.
bool print_jobs(const wo::cli::FlagSet& flags) {
  const Registry& registry = Registry::global();
  if (flags.get_bool("list-jobs")) {
    for (const auto* j : registry.all()) std::cout << j->name << "\t" << j->description << "\n";
    return true;
  }
  if (std::string name = flags.get_string("describe-job"); !name.empty()) {
    const JobDefinition* j = registry.find(name);
    if (j == nullptr) {
      throw Fatal{kExitUsage, "UnknownJob", "unknown job \"" + name + "\"; known jobs: " + join(registry.names())};
    }
    std::cout << j->name << ": " << j->description << "\n\nConfiguration:\n" << j->config_help;
    return true;
  }
  return false;
}

// Builds every selected job's routines into runner (validating each job's configuration) and returns
// the worker's id.
std::string build_jobs(const std::vector<const JobDefinition*>& jobs, const wo::cli::FlagSet& flags,
                       metrics::Registry& metrics, RoutineRunner& runner, StatusPage& status_page) {
  YAML::Node root = load_config(flags);
  std::string worker_id = new_worker_id();
  const std::string host = hostname();
  auto& info = metrics.gauge("worker_job_info", "The jobs this process runs (value 1)", {"job", "worker_id"});
  for (const auto* j : jobs) {
    JobContext ctx;
    ctx.job = j->name;
    ctx.config = job_config(root, j->name, jobs.size() > 1);
    ctx.database.url = flags.get_string("database-url");
    ctx.database.application_name = "worker:" + j->name;
    ctx.database.statement_timeout = flags.get_duration("statement-timeout");
    ctx.metrics = &metrics;
    ctx.worker_id = worker_id;
    ctx.hostname = host;
    ctx.termination_log = flags.get_string("termination-log");
    ctx.status_page = &status_page;
    try {
      for (auto& r : j->build(ctx)) runner.add(std::move(r));
    } catch (const std::exception& e) {
      // ConfigError and whatever else a job's build() throws: both mean this job cannot run as configured.
      throw Fatal{kExitUsage, "InvalidConfig", "job \"" + j->name + "\": " + e.what()};
    }
    info.with({j->name, worker_id}).set(1);
  }
  return worker_id;
}

// Routines that did not stop by the shutdown deadline still run on threads that nothing but the end of
// the process can end (they are never detached): say which, and end the process now, before the objects
// those threads may still use are destroyed. Kubernetes would SIGKILL it at the end of the grace period
// anyway; ending it here says why. Their records are not lost (see QueueWorker::run).
[[noreturn]] void exit_leaving_routines(const std::vector<std::string>& routines, const std::string& termination_log) {
  const std::string message = "routines did not stop by the shutdown deadline: " + join(routines);
  wo::process::write_termination_message("ShutdownTimeout: " + message + "\n", termination_log);
  wo::log::error("exiting without waiting for routines that did not stop by the shutdown deadline",
                 {{"routines", join(routines)}, {"exit_code", kExitRuntime}});
  wo::log::shutdown();
  std::fflush(nullptr);
  std::_Exit(kExitRuntime);
}

// SIGTERM or SIGINT: stops the routines by the shutdown timeout and returns the exit status.
int shut_down(const wo::cli::FlagSet& flags, const wo::process::ShutdownSignal& shutdown, RoutineRunner& runner,
              http::Server& server) {
  auto timeout = flags.get_duration("shutdown-timeout");
  wo::log::info("shutting down", {{"reason", shutdown.reason()}, {"timeout", wo::cli::format_duration(timeout)}});
  const bool stopped = runner.stop(std::chrono::steady_clock::now() + timeout);
  server.stop();

  int code = kExitOk;
  if (auto failures = runner.failures(); !failures.empty()) {
    std::string message = "RoutineFailed: " + join(failures);
    wo::process::write_termination_message(message + "\n", flags.get_string("termination-log"));
    wo::log::error("exiting after routine failures", {{"failures", join(failures)}});
    code = kExitRuntime;
  }
  if (!stopped) exit_leaving_routines(runner.still_running(), flags.get_string("termination-log"));
  wo::log::info("worker stopped", {{"exit_code", code}});
  return code;
}

int run(const wo::cli::FlagSet& flags, wo::process::ShutdownSignal& shutdown, std::string_view commit) {
  const Registry& registry = Registry::global();
  if (!registry.errors().empty()) throw Fatal{kExitRuntime, "RuntimeError", join(registry.errors())};
  if (print_jobs(flags)) return kExitOk;

  auto jobs = select_jobs(flags.get_repeated("job"));
  metrics::Registry metrics;
  metrics::register_process_metrics(metrics);
  metrics::register_build_info(metrics, "worker", kVersion, commit);
  health::Checks checks;
  RoutineRunner runner(metrics, checks);
  StatusPage status_page;  // before the server, which serves it
  const std::string worker_id = build_jobs(jobs, flags, metrics, runner, status_page);

  http::Server server(flags.get_string("http-addr"));
  health::serve_endpoints(server, &checks, &metrics);
  // It reads the database: off the thread that answers probes and scrapes.
  server.handle_blocking("/", [&status_page](const http::Request&) { return status_page.serve(); });
  try {
    server.start();
  } catch (const std::exception& e) {
    throw Fatal{kExitRuntime, "RuntimeError", "cannot serve " + flags.get_string("http-addr") + ": " + e.what()};
  }
  std::vector<std::string> names;
  names.reserve(jobs.size());
  for (const auto* j : jobs) names.push_back(j->name);
  wo::log::info("worker started",
                {{"jobs", join(names)}, {"worker_id", worker_id}, {"http_port", static_cast<int>(server.port())}});
  runner.start();

  shutdown.wait();
  return shut_down(flags, shutdown, runner, server);
}

}  // namespace

int run_app(int argc, const char* const argv[], std::string_view commit) {
  wo::process::ShutdownSignal shutdown;  // first: blocks SIGTERM/SIGINT before any thread starts
  wo::cli::FlagSet flags("worker",
                         "Runs one registered background job (see --list-jobs) on the Postgres queue framework.\n"
                         "`worker queue --help`: inspect and repair a queue table.");
  declare_flags(flags);
  // Known before parsing, so that a usage error is reported there too.
  std::string termination_log(wo::process::kTerminationLogPath);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts; the worker never calls setenv
  if (const char* env = std::getenv("WORKER_TERMINATION_LOG"); env != nullptr && *env != '\0') termination_log = env;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--termination-log=", 0) == 0) termination_log = std::string(a.substr(18));
    if (a == "--termination-log" && i + 1 < argc) termination_log = argv[i + 1];
  }
  int code = kExitOk;
  try {
    try {
      flags.parse(argc, argv);
    } catch (const wo::cli::UsageError& e) {
      throw Fatal{kExitUsage, "UsageError", std::string(e.what()) + " (see worker --help)"};
    }
    if (flags.get_bool("help")) {
      std::cout << flags.usage();
      return kExitOk;
    }
    if (flags.get_bool("version")) {
      std::cout << wo::version_line("worker", commit) << "\n";
      return kExitOk;
    }
    wo::log::Options log_options;
    log_options.component = "worker";
    try {
      log_options.format = wo::log::parse_format(flags.get_string("log-format"));
      log_options.level = wo::log::parse_level(flags.get_string("log-level"));
    } catch (const std::exception& e) {
      throw Fatal{kExitUsage, "UsageError", e.what()};
    }
    wo::log::init(log_options);
    code = run(flags, shutdown, commit);
  } catch (const Fatal& f) {
    // One line, via the logger (stderr as text when it is not initialised yet).
    wo::log::error(f.message, {{"reason", f.reason}});
    wo::process::write_termination_message(f.reason + ": " + f.message + "\n", termination_log);
    code = f.code;
  } catch (const std::exception& e) {
    std::cerr << "worker: RuntimeError: " << e.what() << "\n";
    wo::process::write_termination_message("RuntimeError: " + std::string(e.what()) + "\n", termination_log);
    code = kExitRuntime;
  }
  wo::log::shutdown();
  return code;
}

}  // namespace wo::worker
