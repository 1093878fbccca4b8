// Printing for the worker's commands: aligned text tables for people, JSON for programs. The worker has
// no JSON library (the operator's cpprest is not linked into it): JSON strings are escaped by the one
// escaper the logger uses too (wo::text::append_json_string).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wo::worker::cli {

// text as a JSON string literal, quotes included, made valid UTF-8 first (wo::text::clean), so that the
// result is always valid JSON.
std::string json_string(std::string_view text);

// Rows as columns aligned on their widest cell (counted in characters, not bytes), two spaces apart,
// one line per row, no trailing spaces.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace wo::worker::cli
