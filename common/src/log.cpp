#include "wo/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include "wo/text.h"

namespace wo::log {
namespace {

struct State {
  std::mutex mu;
  Format format = Format::text;
  std::string component = "main";
  std::shared_ptr<spdlog::logger> logger;  // null until init(): lines go to stderr directly
};

State& state() {
  static State s;
  return s;
}

std::atomic<int> g_min_level{static_cast<int>(Level::info)};

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Text values are quoted only when they would otherwise be ambiguous (spaces, quotes, '=', empty).
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.append(v);
  } else {
    wo::text::append_json_string(out, v);
  }
}

std::string timestamp() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto micros = duration_cast<microseconds>(now - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), is_number(true) {
  if (std::isfinite(v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    value = buf;
  } else {
    value = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
    is_number = false;
  }
}

Format parse_format(std::string_view text) {
  if (text == "json") return Format::json;
  if (text == "text") return Format::text;
  throw std::invalid_argument("unknown log format \"" + std::string(text) + "\" (want json or text)");
}

Level parse_level(std::string_view text) {
  if (text == "trace") return Level::trace;
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  throw std::invalid_argument("unknown log level \"" + std::string(text) +
                              "\" (want trace, debug, info, warn or error)");
}

std::string render(Format format, Level level, std::string_view component, std::string_view message,
                   std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(128 + message.size());
  if (format == Format::json) {
    out += "{\"ts\":\"";
    out += timestamp();
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"logger\":";
    wo::text::append_json_string(out, component);
    out += ",\"msg\":";
    wo::text::append_json_string(out, message);
    for (const Field& f : fields) {
      out.push_back(',');
      wo::text::append_json_string(out, f.key);
      out.push_back(':');
      if (f.is_number) {
        out += f.value;
      } else {
        wo::text::append_json_string(out, f.value);
      }
    }
    out.push_back('}');
  } else {
    out += timestamp();
    out.push_back(' ');
    std::string lvl(level_name(level));
    for (char& c : lvl) c = static_cast<char>(c - 'a' + 'A');
    out += lvl;
    out.push_back(' ');
    out.append(component);
    out.push_back(' ');
    out.append(message);
    for (const Field& f : fields) {
      out.push_back(' ');
      out.append(f.key);
      out.push_back('=');
      append_text_value(out, f.value);
    }
  }
  return out;
}

void init(const Options& options) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.format = options.format;
  s.component = options.component.empty() ? "main" : options.component;
  g_min_level.store(static_cast<int>(options.level));
  if (!s.logger) {
    // Asynchronous so a slow stdout never stalls a reconcile or a handler; block rather than drop.
    // 1,024 queued lines: each slot is a preallocated ~400-byte message, so 8,192 would hold 3 MiB for good.
    spdlog::init_thread_pool(1024, 1);
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    s.logger = std::make_shared<spdlog::async_logger>(s.component, sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    s.logger->set_pattern("%v");  // lines are rendered complete by render()
    s.logger->flush_on(spdlog::level::warn);
  }
  s.logger->set_level(to_spdlog(options.level));
}

void shutdown() {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.logger) {
    s.logger->flush();
    s.logger.reset();
    spdlog::shutdown();
  }
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  State& s = state();
  std::shared_ptr<spdlog::logger> logger;
  Format format;
  std::string component;
  {
    std::lock_guard lock(s.mu);
    logger = s.logger;
    format = s.format;
    component = s.component;
  }
  const std::string line = render(format, level, component, message, fields);
  if (logger) {
    logger->log(to_spdlog(level), "{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace wo::log
