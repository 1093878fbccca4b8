// Structured logging for both binaries: one line per event, JSON or text, with key=value fields.
//
// Every line the project writes goes through these functions, so that JSON output is always valid JSON
// (spdlog's own pattern does not escape messages). spdlog provides the asynchronous sink and the level filter.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace wo::log {

enum class Format { json, text };
enum class Level { trace, debug, info, warn, error };

struct Options {
  Format format = Format::text;
  Level level = Level::info;
  std::string component;  // "operator" or "worker": the `logger` field of every line
};

// Parses "json" | "text"; throws std::invalid_argument naming the accepted values.
Format parse_format(std::string_view text);
// Parses "trace" | "debug" | "info" | "warn" | "warning" | "error"; throws std::invalid_argument.
Level parse_level(std::string_view text);

// Installs the process-wide logger. Call once, early in main; before it, lines go to stderr as text.
void init(const Options& options);
// Drains and stops the logger. Call last in main, after every thread that logs has stopped.
void shutdown();

// One key=value pair of a log line. Values are rendered as JSON strings or numbers.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v == nullptr ? "" : v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), is_number(true) {}
  template <typename T>
  requires(std::integral<T> && !std::same_as<T, bool>) Field(std::string_view k, T v)
      : key(k), value(std::to_string(v)), is_number(true) {}
  Field(std::string_view k, double v);

  std::string_view key;
  std::string value;
  bool is_number = false;
};

bool enabled(Level level);
void write(Level level, std::string_view message, std::initializer_list<Field> fields);

inline void trace(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::trace, m, f);
}
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::error, m, f);
}

// Renders one line without writing it (what write() sends to the sink); exposed for tests.
std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields);

}  // namespace wo::log
