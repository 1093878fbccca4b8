#include "api/yaml_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace wo::api {
namespace {

// Nesting deeper than this is refused (a CRD's schema nests ~30 levels).
constexpr int kMaxDepth = 128;
// Nodes visited per stream, counting alias expansions: stops "billion laughs" documents.
constexpr long kMaxNodes = 200000;

constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";
constexpr std::string_view kTagBinary = "tag:yaml.org,2002:binary";
constexpr std::string_view kTagTimestamp = "tag:yaml.org,2002:timestamp";
constexpr std::string_view kTagMap = "tag:yaml.org,2002:map";
constexpr std::string_view kTagSeq = "tag:yaml.org,2002:seq";

class ConvertError : public std::runtime_error {
 public:
  ConvertError(const YAML::Mark& mark, const std::string& what) : std::runtime_error(where(mark) + what) {}
  static std::string where(const YAML::Mark& mark) {
    if (mark.is_null()) return "";
    return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ": ";
  }
};

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> options) {
  for (const auto o : options) {
    if (s == o) return true;
  }
  return false;
}

bool is_null_word(std::string_view s) {
  return is_one_of(s, {"", "~", "null", "Null", "NULL"});
}
bool is_true_word(std::string_view s) {
  return is_one_of(s, {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"});
}
bool is_false_word(std::string_view s) {
  return is_one_of(s, {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"});
}
bool is_special_float_word(std::string_view s) {
  return is_one_of(
      s, {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"});
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// go-yaml v2's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool matches_yaml_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  } else {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

struct GoInt {
  bool valid = false;     // syntactically an integer for strconv.ParseInt(s, 0, 64)
  bool overflow = false;  // ... but its magnitude exceeds 64 bits
  bool negative = false;
  bool plus_sign = false;
  std::uint64_t magnitude = 0;
};

// strconv.ParseInt(s, 0, ...) syntax: sign, then 0x/0o/0b prefixes or a leading 0 for octal.
GoInt parse_go_int(std::string_view s) {
  GoInt r;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    r.negative = s[i] == '-';
    r.plus_sign = s[i] == '+';
    ++i;
  }
  unsigned base = 10;
  if (s.size() - i >= 2 && s[i] == '0') {
    const char p = s[i + 1];
    if (p == 'x' || p == 'X') {
      base = 16;
      i += 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      i += 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      i += 2;
    } else {
      base = 8;
      i += 1;
    }
  }
  if (i == s.size()) return r;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return r;
    }
    if (d >= base) return r;
    if (r.magnitude > (UINT64_MAX - d) / base) r.overflow = true;
    if (!r.overflow) r.magnitude = r.magnitude * base + d;
  }
  r.valid = true;
  return r;
}

// A number from a float's text, the way Go's encoder would write it back: integral values that
// fit int64 are integers.
std::optional<web::json::value> float_value(const std::string& text) {
  const double d = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;  // Go's ParseFloat reports a range error: stays a string
  if (d == std::trunc(d) && std::fabs(d) < 9223372036854775808.0) {
    return web::json::value::number(static_cast<int64_t>(d));
  }
  return web::json::value::number(d);
}

// Resolves an untagged plain scalar like go-yaml v2's resolve().
web::json::value resolve_plain(const std::string& in, const YAML::Mark& mark) {
  if (is_null_word(in)) return web::json::value::null();
  if (is_true_word(in)) return web::json::value::boolean(true);
  if (is_false_word(in)) return web::json::value::boolean(false);
  if (is_special_float_word(in)) {
    throw ConvertError(mark, "\"" + in + "\" is a YAML float that JSON cannot represent; quote it for a string");
  }
  const char hint = in[0];
  if (hint == '.') {
    if (matches_yaml_float(in)) {
      if (auto v = float_value(in)) return *v;
    }
    return web::json::value::string(in);
  }
  if (!is_digit(hint) && hint != '+' && hint != '-') return web::json::value::string(in);

  std::string plain;
  plain.reserve(in.size());
  for (const char c : in) {
    if (c != '_') plain.push_back(c);
  }
  const GoInt n = parse_go_int(plain);
  if (n.valid && !n.overflow) {
    if (n.negative && n.magnitude <= std::uint64_t{1} << 63) {
      return web::json::value::number(static_cast<int64_t>(0 - n.magnitude));
    }
    if (!n.negative && n.magnitude < std::uint64_t{1} << 63) {
      return web::json::value::number(static_cast<int64_t>(n.magnitude));
    }
    if (!n.negative && !n.plus_sign) return web::json::value::number(n.magnitude);  // ParseUint
  }
  if (n.valid) {
    // An integer beyond 64 bits: go-yaml would turn it into a float and lose digits; keep the text.
    return web::json::value::string(in);
  }
  if (matches_yaml_float(plain)) {
    if (auto v = float_value(plain)) return *v;
  }
  return web::json::value::string(in);
}

// Text of a resolved scalar used as a mapping key (sigs.k8s.io/yaml stringifies non-string keys).
std::string key_text(const web::json::value& key) {
  switch (key.type()) {
    case web::json::value::String:
      return key.as_string();
    case web::json::value::Boolean:
      return key.as_bool() ? "true" : "false";
    case web::json::value::Null:
      return "null";
    case web::json::value::Number: {
      const auto& n = key.as_number();
      if (n.is_int64()) return std::to_string(n.to_int64());
      if (n.is_uint64()) return std::to_string(n.to_uint64());
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, n.to_double());
      return std::string(buf, r.ptr);
    }
    default:
      return key.serialize();
  }
}

// Builds JSON straight from yaml-cpp's parser events. (YAML::LoadAll is not used: on a stray ","
// at document level, e.g. "{},", yaml-cpp 0.7 never consumes the token and LoadAll returns empty
// documents forever; with events we see the parser stand still and stop.)
class Builder final : public YAML::EventHandler {
 public:
  std::vector<web::json::value> documents;

  void OnDocumentStart(const YAML::Mark& mark) override {
    // The parser made no progress since the last (empty) document: it is stuck on a token.
    if (!documents_started_.empty() && same(documents_started_.back(), mark) && last_was_empty_)
      throw ConvertError(mark, "unexpected content here (a stray ',' or similar)");
    documents_started_.push_back(mark);
    root_.reset();
  }
  void OnDocumentEnd() override {
    last_was_empty_ = !root_ || root_->is_null();
    if (root_ && !root_->is_null()) documents.push_back(std::move(*root_));
    root_.reset();
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    count(1, mark);
    emit(web::json::value::null(), 1, anchor, mark, /*plain_key_text=*/nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw ConvertError(mark, "alias to an anchor that is not complete yet");
    count(it->second.second, mark);  // an alias costs as much as what it expands to
    emit(it->second.first, it->second.second, 0, mark, nullptr);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    count(1, mark);
    emit(scalar(mark, tag, text), 1, anchor, mark, tag == "?" ? &text : nullptr);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, tag, anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool is_map = false;
    YAML::Mark mark;
    YAML::anchor_t anchor = 0;
    long nodes = 1;
    std::vector<web::json::value> items;
    std::vector<std::pair<std::string, web::json::value>> fields;
    std::set<std::string> seen;
    std::vector<std::pair<web::json::value, YAML::Mark>> merges;
    bool have_key = false;
    bool key_is_merge = false;
    std::string key;
    YAML::Mark key_mark;
  };

  static bool same(const YAML::Mark& a, const YAML::Mark& b) { return a.pos == b.pos; }

  void count(long nodes, const YAML::Mark& mark) {
    nodes_ += nodes;
    if (nodes_ > kMaxNodes) {
      throw ConvertError(
          mark, "document too large (more than " + std::to_string(kMaxNodes) + " nodes after expanding aliases)");
    }
  }

  void open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map) {
    if (!stack_.empty() && stack_.back().is_map && !stack_.back().have_key) {
      throw ConvertError(mark, "a mapping key must be a scalar, not a list or mapping");
    }
    if (static_cast<int>(stack_.size()) >= kMaxDepth) {
      throw ConvertError(mark, "nesting deeper than " + std::to_string(kMaxDepth));
    }
    const std::string_view expected = is_map ? kTagMap : kTagSeq;
    if (!(tag.empty() || tag == "?" || tag == "!" || tag == expected)) {
      throw ConvertError(mark, "unsupported tag \"" + tag + "\"");
    }
    count(1, mark);  // the collection itself; its children count as they arrive
    Frame f;
    f.is_map = is_map;
    f.mark = mark;
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    web::json::value v;
    if (f.is_map) {
      // Merge keys: explicit keys win, then earlier merged maps over later ones.
      for (const auto& [merged, mark] : f.merges) {
        auto add = [&](const web::json::value& m, const YAML::Mark& at) {
          if (!m.is_object()) throw ConvertError(at, "a merge key (<<) needs a mapping or a list of mappings");
          for (const auto& [name, field] : m.as_object()) {
            if (f.seen.insert(name).second) f.fields.emplace_back(name, field);
          }
        };
        if (merged.is_array()) {
          for (const auto& m : merged.as_array()) add(m, mark);
        } else {
          add(merged, mark);
        }
      }
      v = web::json::value::object(std::move(f.fields), true);
    } else {
      v = web::json::value::array(std::move(f.items));
    }
    emit(std::move(v), f.nodes, f.anchor, f.mark, nullptr);
  }

  // Adds a finished node (of `nodes` nodes, already counted) to its parent, or makes it the
  // document's root.
  void emit(web::json::value v, long nodes, YAML::anchor_t anchor, const YAML::Mark& mark,
            const std::string* plain_key_text) {
    if (anchor != 0) anchors_[anchor] = {v, nodes};
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& parent = stack_.back();
    parent.nodes += nodes;
    if (!parent.is_map) {
      parent.items.push_back(std::move(v));
      return;
    }
    if (!parent.have_key) {
      if (v.is_array() || v.is_object())
        throw ConvertError(mark, "a mapping key must be a scalar, not a list or mapping");
      parent.have_key = true;
      parent.key_is_merge = plain_key_text != nullptr && *plain_key_text == "<<";
      parent.key = parent.key_is_merge ? "<<" : key_text(v);
      parent.key_mark = mark;
      return;
    }
    parent.have_key = false;
    if (parent.key_is_merge) {
      parent.merges.emplace_back(std::move(v), mark);
      return;
    }
    if (!parent.seen.insert(parent.key).second) {
      throw ConvertError(parent.key_mark, "duplicate key \"" + parent.key + "\"");
    }
    parent.fields.emplace_back(std::move(parent.key), std::move(v));
  }

  static web::json::value scalar(const YAML::Mark& mark, const std::string& tag, const std::string& text) {
    // "!" marks quoted and block scalars (and the non-specific "!" tag): always strings.
    if (tag == "!" || tag == kTagStr || tag == kTagBinary || tag == kTagTimestamp) {
      return web::json::value::string(text);
    }
    if (tag == "?" || tag.empty()) return resolve_plain(text, mark);
    if (tag == kTagInt || tag == kTagFloat || tag == kTagBool || tag == kTagNull) {
      web::json::value v = text.empty() ? web::json::value::null() : resolve_plain(text, mark);
      const bool ok = (tag == kTagInt && v.is_number() && v.as_number().is_integral()) ||
                      (tag == kTagFloat && v.is_number()) || (tag == kTagBool && v.is_boolean()) ||
                      (tag == kTagNull && v.is_null());
      if (!ok) throw ConvertError(mark, "\"" + text + "\" is not a valid " + tag.substr(tag.rfind(':') + 1));
      return v;
    }
    throw ConvertError(mark, "unsupported tag \"" + tag + "\"");
  }

  std::vector<Frame> stack_;
  std::optional<web::json::value> root_;
  std::map<YAML::anchor_t, std::pair<web::json::value, long>> anchors_;
  std::vector<YAML::Mark> documents_started_;
  bool last_was_empty_ = false;
  long nodes_ = 0;
};

}  // namespace

std::optional<std::vector<web::json::value>> yaml_to_json(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& message) -> std::optional<std::vector<web::json::value>> {
    if (error != nullptr) *error = message;
    return std::nullopt;
  };
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    Builder builder;
    while (parser.HandleNextDocument(builder)) {
    }
    return std::move(builder.documents);
  } catch (const YAML::Exception& e) {
    return fail(ConvertError::where(e.mark) + e.msg);
  } catch (const ConvertError& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail(std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace wo::api
