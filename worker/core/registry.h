// The job registry. A job registers itself from its own .cpp file with a static Registrar, so adding a
// job never means editing a central list:
//
//   namespace { const wo::worker::Registrar reg({.name = "team.thing", .description = "...",
//                                               .config_help = "...", .build = &build}); }
//
// build() reads and validates the job's configuration (throwing ConfigError naming the field) and returns
// the routines the job runs, without starting them or touching the database; the worker calls it for
// every selected job before anything starts, so configuration errors fail startup with exit status 2.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/database.h"
#include "core/routine.h"
#include "core/status_page.h"
#include "wo/metrics.h"

namespace wo::worker {

// What a job gets to build its routines.
struct JobContext {
  std::string job;           // the job's registered name
  YAML::Node config;         // the job's configuration mapping (may be null: no configuration)
  DatabaseOptions database;  // application_name is already worker:<job>
  metrics::Registry* metrics = nullptr;
  std::string worker_id;  // a fresh UUID per process: the owner written into claimed records
  std::string hostname;
  std::string termination_log;        // where fatal messages go (--termination-log)
  StatusPage* status_page = nullptr;  // where a job adds its section of the status page at / (null: none)
};

struct JobDefinition {
  std::string name;         // e.g. "queue.command"; what --job and WorkerJob.spec.job name
  std::string description;  // one line, for --list-jobs
  std::string config_help;  // the configuration keys, one per line, for --describe-job and docs/jobs.md
  std::function<std::vector<std::unique_ptr<Routine>>(const JobContext&)> build;
};

class Registry {
 public:
  static Registry& global();

  void add(JobDefinition job);  // a duplicate name is recorded in errors(), not thrown (static init time)
  const JobDefinition* find(const std::string& name) const;
  std::vector<const JobDefinition*> all() const;  // sorted by name
  std::vector<std::string> names() const;
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<JobDefinition> jobs_;
  std::vector<std::string> errors_;
};

struct Registrar {
  explicit Registrar(JobDefinition job) { Registry::global().add(std::move(job)); }
};

}  // namespace wo::worker
