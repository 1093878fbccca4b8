#include "wo/cli.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace wo::cli {
namespace {

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "1" || text == "yes") {
    out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no") {
    out = false;
    return true;
  }
  return false;
}

bool parse_int(const std::string& text, long long& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  const std::string original(text);
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) throw std::invalid_argument("empty duration");
  double total_ms = 0;
  while (!text.empty()) {
    size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == 0) throw std::invalid_argument("invalid duration \"" + original + "\" (e.g. 250ms, 25s, 1m30s)");
    double number = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
    if (ec != std::errc() || ptr != text.data() + i) {
      throw std::invalid_argument("invalid duration \"" + original + "\" (e.g. 250ms, 25s, 1m30s)");
    }
    text.remove_prefix(i);
    size_t j = 0;
    while (j < text.size() && !((text[j] >= '0' && text[j] <= '9') || text[j] == '.')) ++j;
    const std::string_view unit = text.substr(0, j);
    text.remove_prefix(j);
    double scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else {
      throw std::invalid_argument("invalid duration \"" + original + "\": unknown unit \"" + std::string(unit) +
                                  "\" (use ms, s, m or h)");
    }
    total_ms += number * scale;
  }
  if (total_ms > 1e13) throw std::invalid_argument("duration \"" + original + "\" is too large");
  return std::chrono::milliseconds(std::llround(total_ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const long long h = ms / 3'600'000, m = (ms / 60'000) % 60, s = (ms / 1000) % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s || rest) {
    out += std::to_string(s);
    if (rest) {
      std::string frac = std::to_string(rest + 1000).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

FlagSet::FlagSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  add_bool("help", "", false, "Print this help and exit");
  add_bool("version", "", false, "Print the version and the commit built, and exit");
}

namespace {
template <typename Map, typename Flag>
void declare(Map& flags, std::vector<std::string>& order, std::string name, Flag flag) {
  if (flags.count(name)) throw std::logic_error("flag --" + name + " declared twice");
  order.push_back(name);
  flags.emplace(std::move(name), std::move(flag));
}
}  // namespace

void FlagSet::add_string(std::string name, std::string env, std::string default_value, std::string help) {
  declare(flags_, order_, std::move(name),
          Flag{Kind::string, std::move(env), std::move(help), default_value, {default_value}});
}

void FlagSet::add_repeated(std::string name, std::string env, std::string help) {
  declare(flags_, order_, std::move(name), Flag{Kind::repeated, std::move(env), std::move(help), "", {}});
}

void FlagSet::add_bool(std::string name, std::string env, bool default_value, std::string help) {
  const std::string text = default_value ? "true" : "false";
  declare(flags_, order_, std::move(name), Flag{Kind::boolean, std::move(env), std::move(help), text, {text}});
}

void FlagSet::add_int(std::string name, std::string env, long long default_value, std::string help) {
  const std::string text = std::to_string(default_value);
  declare(flags_, order_, std::move(name), Flag{Kind::integer, std::move(env), std::move(help), text, {text}});
}

void FlagSet::add_duration(std::string name, std::string env, std::chrono::milliseconds default_value,
                           std::string help) {
  const std::string text = format_duration(default_value);
  declare(flags_, order_, std::move(name), Flag{Kind::duration, std::move(env), std::move(help), text, {text}});
}

void FlagSet::assign(const std::string& name, Flag& flag, const std::string& value, bool from_env) {
  const std::string where = from_env ? "environment variable " + flag.env + " (for --" + name + ")" : "--" + name;
  switch (flag.kind) {
    case Kind::boolean: {
      bool b = false;
      if (!parse_bool(value, b)) throw UsageError(where + ": want true or false, got \"" + value + "\"");
      flag.values = {b ? "true" : "false"};
      break;
    }
    case Kind::integer: {
      long long n = 0;
      if (!parse_int(value, n)) throw UsageError(where + ": want a whole number, got \"" + value + "\"");
      flag.values = {value};
      break;
    }
    case Kind::duration:
      try {
        parse_duration(value);
      } catch (const std::invalid_argument& e) {
        throw UsageError(where + ": " + e.what());
      }
      flag.values = {value};
      break;
    case Kind::repeated:
      if (from_env) {
        std::stringstream ss(value);
        std::string item;
        while (std::getline(ss, item, ',')) {
          if (!item.empty()) flag.values.push_back(item);
        }
      } else {
        flag.values.push_back(value);
      }
      break;
    case Kind::string:
      flag.values = {value};
      break;
  }
  flag.set = true;
}

void FlagSet::parse(int argc, const char* const argv[]) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      throw UsageError("unexpected argument \"" + arg + "\" (flags start with --; see --help)");
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) throw UsageError("unknown flag --" + name + " (see --help)");
    Flag& flag = it->second;
    if (!has_value) {
      if (flag.kind == Kind::boolean) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw UsageError("flag --" + name + " needs a value");
      }
    }
    if (flag.kind == Kind::repeated && !flag.set) flag.values.clear();
    assign(name, flag, value, false);
  }
  for (auto& [name, flag] : flags_) {
    if (flag.set || flag.env.empty()) continue;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): flags are parsed at startup, before any thread; nothing calls setenv
    if (const char* env = std::getenv(flag.env.c_str()); env != nullptr && *env != '\0') {
      assign(name, flag, env, true);
    }
  }
}

const FlagSet::Flag& FlagSet::lookup(const std::string& name, Kind kind) const {
  auto it = flags_.find(name);
  if (it == flags_.end() || it->second.kind != kind) throw std::logic_error("flag --" + name + " not declared as read");
  return it->second;
}

std::string FlagSet::get_string(const std::string& name) const {
  return lookup(name, Kind::string).values.at(0);
}

std::vector<std::string> FlagSet::get_repeated(const std::string& name) const {
  return lookup(name, Kind::repeated).values;
}

bool FlagSet::get_bool(const std::string& name) const {
  return lookup(name, Kind::boolean).values.at(0) == "true";
}

long long FlagSet::get_int(const std::string& name) const {
  long long n = 0;
  parse_int(lookup(name, Kind::integer).values.at(0), n);
  return n;
}

std::chrono::milliseconds FlagSet::get_duration(const std::string& name) const {
  return parse_duration(lookup(name, Kind::duration).values.at(0));
}

bool FlagSet::is_set(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.set;
}

std::string FlagSet::usage() const {
  std::string out = "Usage: " + program_ + " [flags]\n\n" + summary_ + "\n\nFlags:\n";
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    out += "  --" + name;
    if (f.kind != Kind::boolean) out += "=VALUE";
    out += "\n      " + f.help;
    if (!f.default_text.empty()) out += " (default " + f.default_text + ")";
    if (!f.env.empty()) out += " [$" + f.env + "]";
    out += "\n";
  }
  return out;
}

}  // namespace wo::cli
