// Command-line flags with environment-variable fallbacks, shared by both binaries.
//
// Accepted forms: --name=value, --name value, and for booleans --name, --name=true|false.
// Precedence: command line, then the flag's environment variable, then its default.
// Errors (unknown flag, missing value, bad number or duration) throw UsageError naming the flag.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wo::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses a Go-style duration: "250ms", "25s", "1m30s", "2h"; a bare "0" is zero. Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(std::string_view text);
// Formats a duration the same way ("1m30s", "250ms").
std::string format_duration(std::chrono::milliseconds d);

class FlagSet {
 public:
  explicit FlagSet(std::string program, std::string summary);

  // Declares a flag. env may be empty (no fallback). repeated flags collect every value.
  void add_string(std::string name, std::string env, std::string default_value, std::string help);
  void add_repeated(std::string name, std::string env, std::string help);  // env: comma-separated list
  void add_bool(std::string name, std::string env, bool default_value, std::string help);
  void add_int(std::string name, std::string env, long long default_value, std::string help);
  void add_duration(std::string name, std::string env, std::chrono::milliseconds default_value, std::string help);

  // Parses argv (argv[0] skipped) and the environment. Throws UsageError. Positional arguments are an error.
  void parse(int argc, const char* const argv[]);

  std::string get_string(const std::string& name) const;
  std::vector<std::string> get_repeated(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  long long get_int(const std::string& name) const;
  std::chrono::milliseconds get_duration(const std::string& name) const;
  // True when the flag was given on the command line or by its environment variable.
  bool is_set(const std::string& name) const;

  // The --help text: summary, then each flag with its environment variable and default.
  std::string usage() const;

 private:
  enum class Kind { string, repeated, boolean, integer, duration };
  struct Flag {
    Kind kind;
    std::string env, help, default_text;
    std::vector<std::string> values;
    bool set = false;
  };
  const Flag& lookup(const std::string& name, Kind kind) const;
  void assign(const std::string& name, Flag& flag, const std::string& value, bool from_env);

  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
};

}  // namespace wo::cli
