#include "api/json_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

namespace wo::api {
namespace {

// Depth of the deepest array/object nesting, ignoring brackets inside strings; stops counting
// once past the limit.
int nesting_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// cpprest's serializer escapes quotes, backslashes and control characters and keeps UTF-8 as is.
void append_string(std::string& out, const std::string& s) {
  out += web::json::value::string(s).serialize();
}

void append_number(std::string& out, const web::json::number& n) {
  char buf[64];
  std::to_chars_result r{};
  if (n.is_int64()) {
    r = std::to_chars(buf, buf + sizeof buf, n.to_int64());
  } else if (n.is_uint64()) {
    r = std::to_chars(buf, buf + sizeof buf, n.to_uint64());
  } else {
    const double d = n.to_double();
    if (!std::isfinite(d)) {  // not representable in JSON; cpprest never parses one, but be total
      out += "null";
      return;
    }
    r = std::to_chars(buf, buf + sizeof buf, d);  // shortest text that reads back as the same double
  }
  out.append(buf, r.ptr);
}

void append_indent(std::string& out, int depth) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void append_pretty(std::string& out, const web::json::value& v, int depth) {
  switch (v.type()) {
    case web::json::value::Null:
      out += "null";
      return;
    case web::json::value::Boolean:
      out += v.as_bool() ? "true" : "false";
      return;
    case web::json::value::Number:
      append_number(out, v.as_number());
      return;
    case web::json::value::String:
      append_string(out, v.as_string());
      return;
    case web::json::value::Array: {
      const auto& a = v.as_array();
      if (a.size() == 0) {
        out += "[]";
        return;
      }
      out += "[\n";
      bool first = true;
      for (const auto& item : a) {
        if (!first) out += ",\n";
        first = false;
        append_indent(out, depth + 1);
        append_pretty(out, item, depth + 1);
      }
      out += "\n";
      append_indent(out, depth);
      out += "]";
      return;
    }
    case web::json::value::Object: {
      const auto& o = v.as_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& [key, item] : o) {
        if (!first) out += ",\n";
        first = false;
        append_indent(out, depth + 1);
        append_string(out, key);
        out += ": ";
        append_pretty(out, item, depth + 1);
      }
      out += "\n";
      append_indent(out, depth);
      out += "}";
      return;
    }
  }
}

}  // namespace

std::optional<web::json::value> parse_json(std::string_view text, std::string* error) {
  if (nesting_depth(text) > kMaxJsonDepth) {
    if (error != nullptr) *error = "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  try {
    return web::json::value::parse(std::string(text));
  } catch (const std::exception& e) {
    if (error != nullptr) *error = std::string("malformed JSON: ") + e.what();
    return std::nullopt;
  }
}

std::string to_pretty_json(const web::json::value& value) {
  std::string out;
  append_pretty(out, value, 0);
  out += "\n";
  return out;
}

web::json::value sorted_keys(const web::json::value& value) {
  if (value.is_array()) {
    std::vector<web::json::value> items;
    items.reserve(value.as_array().size());
    for (const auto& item : value.as_array()) items.push_back(sorted_keys(item));
    return web::json::value::array(std::move(items));
  }
  if (value.is_object()) {
    std::vector<std::pair<std::string, web::json::value>> fields;
    for (const auto& [key, item] : value.as_object()) fields.emplace_back(key, sorted_keys(item));
    std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return web::json::value::object(std::move(fields), true);
  }
  return value;
}

}  // namespace wo::api
