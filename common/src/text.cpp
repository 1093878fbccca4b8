#include "wo/text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace wo::text {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "...";

// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it is invalid (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF).
std::size_t valid_sequence(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool is_clean(std::string_view in) {
  for (std::size_t i = 0; i < in.size();) {
    if (in[i] == '\0') return false;
    const std::size_t n = valid_sequence(in.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string clean(std::string_view in, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  // Where the output may be cut so that the ellipsis still fits: the last character boundary at or
  // before max_bytes - 3.
  const std::size_t room = max_bytes >= kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  std::size_t cut_at = 0;
  bool cut = false;
  for (std::size_t i = 0; i < in.size();) {
    if (out.size() <= room) cut_at = out.size();
    if (in[i] == '\0') {
      ++i;
      continue;
    }
    const std::size_t n = valid_sequence(in.substr(i));
    const std::string_view piece = n == 0 ? kReplacement : in.substr(i, n);
    if (out.size() + piece.size() > max_bytes) {
      cut = true;
      break;
    }
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  if (!cut) return out;
  out.resize(cut_at);
  if (max_bytes >= kEllipsis.size()) out.append(kEllipsis);
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace wo::text
