// Text that leaves the process for a strict store: a Postgres text column (valid UTF-8, no NUL) or a
// Kubernetes object (valid UTF-8, bounded fields). One function makes any bytes fit both.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wo::text {

// `in` as valid UTF-8 with no NUL byte, at most `max_bytes` long:
//   - each invalid or truncated sequence (stray continuation bytes, overlong forms, surrogates, code
//     points past U+10FFFF) becomes U+FFFD, so a message stays readable and its length stays bounded;
//   - NUL bytes are dropped (Postgres text cannot hold them);
//   - when it is longer than max_bytes, it is cut on a character boundary and ends in "..." (which
//     counts towards max_bytes), so no multi-byte character is ever split.
// The same input always gives the same output, so a bounded message compares equal to itself when it is
// written again (a status write is skipped when nothing changed).
std::string clean(std::string_view in, std::size_t max_bytes = std::string::npos);

// True when `in` is valid UTF-8 without NUL bytes.
bool is_clean(std::string_view in);

// Appends s to out as a JSON string literal, quotes included: ", \ and control characters escaped (the
// logger's JSON lines and the worker's -o json output share this one escaper). The result is valid JSON
// when s is valid UTF-8 (clean() makes it so).
void append_json_string(std::string& out, std::string_view s);

}  // namespace wo::text
