// Reading a job's configuration (a YAML mapping) with validation that names the offending field.
//
// Each job reads its keys through a ConfigReader and calls finish(), which rejects unknown keys, so a
// typo fails at startup ("InvalidConfig: job ...: field \"concurency\": unknown field") instead of being
// silently ignored.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace wo::cli {
class FlagSet;
}

namespace wo::worker {

// Where the operator mounts a WorkerJob's spec.config; read when --config is not given and it exists.
inline constexpr const char* kDefaultConfigPath = "/etc/worker/config.yaml";

// A configuration problem: field is the dotted path of the key ("queue.table"), problem says what is wrong.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string field, std::string problem);
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string field_, problem_;
};

class ConfigReader {
 public:
  // node must be a mapping or null/undefined (an empty configuration); path prefixes field names.
  explicit ConfigReader(const YAML::Node& node, std::string path = "");

  bool has(const std::string& key) const;
  std::string string(const std::string& key, const std::string& default_value);
  std::string required_string(const std::string& key);
  long long integer(const std::string& key, long long default_value, long long min, long long max);
  double number(const std::string& key, double default_value, double min, double max);
  bool boolean(const std::string& key, bool default_value);
  // Go-style duration text ("250ms", "30s", "1h"); min bounds it from below.
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds default_value,
                                     std::chrono::milliseconds min = std::chrono::milliseconds(0));
  // A YAML sequence of scalars.
  std::vector<std::string> string_list(const std::string& key, bool required);
  std::vector<long long> integer_list(const std::string& key);
  // A nested mapping (empty when absent).
  ConfigReader child(const std::string& key);

  // Throws ConfigError for the first key nobody asked for, listing the known ones.
  void finish() const;
  std::string field(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  YAML::Node get(const std::string& key);
  std::string scalar(const std::string& key, const YAML::Node& n) const;

  YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

// The configuration file cannot be used: unreadable, not YAML, or not a mapping. what() names the file.
class ConfigFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Declares --config (WORKER_CONFIG), the job configuration file, on a command line.
void declare_config_flag(wo::cli::FlagSet& flags);
// Loads the configuration file at path; an empty path means kDefaultConfigPath when it exists, else no
// configuration (a null node). Throws ConfigFileError.
YAML::Node load_config_file(const std::string& path);

// A PostgreSQL identifier the framework accepts for table names: [a-z_][a-z0-9_]*, at most max_length
// characters (indexes and channels derive their names from it). Throws ConfigError on field otherwise.
std::string validate_identifier(const std::string& field, const std::string& value, std::size_t max_length = 48);

}  // namespace wo::worker
