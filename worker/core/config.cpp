#include "core/config.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "wo/cli.h"

namespace wo::worker {

namespace {

// Parses a whole decimal integer; false when text is not one.
bool parse_integer(const std::string& text, long long& out) {
  std::size_t used = 0;
  try {
    out = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    return false;
  }
  return used != 0 && used == text.size();
}

}  // namespace

ConfigError::ConfigError(std::string field, std::string problem)
    : std::runtime_error("field \"" + field + "\": " + problem),
      field_(std::move(field)),
      problem_(std::move(problem)) {}

ConfigReader::ConfigReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    throw ConfigError(path_.empty() ? "(root)" : path_, "must be a mapping of keys to values");
  }
}

bool ConfigReader::has(const std::string& key) const {
  return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull();
}

YAML::Node ConfigReader::get(const std::string& key) {
  seen_.insert(key);
  if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  YAML::Node n = node_[key];
  if (!n.IsDefined() || n.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return n;
}

std::string ConfigReader::scalar(const std::string& key, const YAML::Node& n) const {
  if (!n.IsScalar()) throw ConfigError(field(key), "must be a single value, not a list or mapping");
  return n.Scalar();
}

std::string ConfigReader::string(const std::string& key, const std::string& default_value) {
  YAML::Node n = get(key);
  return n.IsDefined() ? scalar(key, n) : default_value;
}

std::string ConfigReader::required_string(const std::string& key) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) throw ConfigError(field(key), "is required");
  std::string v = scalar(key, n);
  if (v.empty()) throw ConfigError(field(key), "must not be empty");
  return v;
}

long long ConfigReader::integer(const std::string& key, long long default_value, long long min, long long max) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return default_value;
  std::string text = scalar(key, n);
  long long v = 0;
  if (!parse_integer(text, v)) throw ConfigError(field(key), "must be an integer, got \"" + text + "\"");
  if (v < min || v > max) {
    throw ConfigError(field(key),
                      "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return v;
}

double ConfigReader::number(const std::string& key, double default_value, double min, double max) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return default_value;
  std::string text = scalar(key, n);
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v)) {
    throw ConfigError(field(key), "must be a number, got \"" + text + "\"");
  }
  if (v < min || v > max) {
    std::ostringstream range;
    range << "must be between " << min << " and " << max << ", got " << text;
    throw ConfigError(field(key), range.str());
  }
  return v;
}

bool ConfigReader::boolean(const std::string& key, bool default_value) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return default_value;
  std::string text = scalar(key, n);
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  throw ConfigError(field(key), "must be true or false, got \"" + text + "\"");
}

std::chrono::milliseconds ConfigReader::duration(const std::string& key, std::chrono::milliseconds default_value,
                                                 std::chrono::milliseconds min) {
  YAML::Node n = get(key);
  if (!n.IsDefined()) return default_value;
  std::string text = scalar(key, n);
  std::chrono::milliseconds d{};
  try {
    d = wo::cli::parse_duration(text);
  } catch (const std::exception&) {
    throw ConfigError(field(key), "must be a duration such as 500ms, 30s, 5m or 1h, got \"" + text + "\"");
  }
  if (d < min) {
    throw ConfigError(field(key), "must be at least " + wo::cli::format_duration(min) + ", got " + text);
  }
  return d;
}

std::vector<std::string> ConfigReader::string_list(const std::string& key, bool required) {
  YAML::Node n = get(key);
  std::vector<std::string> out;
  if (!n.IsDefined()) {
    if (required) throw ConfigError(field(key), "is required");
    return out;
  }
  if (!n.IsSequence()) throw ConfigError(field(key), "must be a list");
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) throw ConfigError(field(key) + "[" + std::to_string(i) + "]", "must be a single value");
    out.push_back(n[i].Scalar());
  }
  if (required && out.empty()) throw ConfigError(field(key), "must not be empty");
  return out;
}

std::vector<long long> ConfigReader::integer_list(const std::string& key) {
  std::vector<long long> out;
  for (const auto& text : string_list(key, false)) {
    long long v = 0;
    if (!parse_integer(text, v)) {
      throw ConfigError(field(key), "must be a list of integers, got \"" + text + "\"");
    }
    out.push_back(v);
  }
  return out;
}

ConfigReader ConfigReader::child(const std::string& key) {
  return ConfigReader(get(key), field(key));
}

void ConfigReader::finish() const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string key = kv.first.Scalar();
    if (seen_.count(key) == 0) {
      std::string known;
      for (const auto& s : seen_) known += (known.empty() ? "" : ", ") + s;
      throw ConfigError(field(key), "unknown field (known fields: " + (known.empty() ? "none" : known) + ")");
    }
  }
}

void declare_config_flag(wo::cli::FlagSet& flags) {
  flags.add_string("config", "WORKER_CONFIG", "",
                   std::string("job configuration file (YAML); default ") + kDefaultConfigPath + " when present");
}

YAML::Node load_config_file(const std::string& path_flag) {
  std::string path = path_flag;
  if (path.empty()) {
    if (!std::filesystem::exists(kDefaultConfigPath)) return YAML::Node(YAML::NodeType::Null);
    path = kDefaultConfigPath;
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigFileError("config file " + path + ": cannot be read");
  } catch (const YAML::ParserException& e) {
    throw ConfigFileError("config file " + path + ": YAML error at line " + std::to_string(e.mark.line + 1) +
                          ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    throw ConfigFileError("config file " + path + ": must be a mapping of keys to values");
  }
  return root;
}

std::string validate_identifier(const std::string& field, const std::string& value, std::size_t max_length) {
  bool ok = !value.empty() && value.size() <= max_length &&
            (std::islower(static_cast<unsigned char>(value[0])) || value[0] == '_');
  for (char c : value) {
    ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) {
    throw ConfigError(field, "must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most " +
                                 std::to_string(max_length) + " characters), got \"" + value + "\"");
  }
  return value;
}

}  // namespace wo::worker
