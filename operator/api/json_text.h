#pragma once
// JSON text in and out, with the guarantees the operator needs and cpprest lacks: bounded nesting
// on input (cpprest's parser recurses without a limit), and a stable, human-readable output
// (two-space indent, shortest round-trip numbers) for golden files and rendered config files.

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <string_view>

namespace wo::api {

// Deeper documents are refused before cpprest sees them; no Kubernetes object comes close.
inline constexpr int kMaxJsonDepth = 100;

// Parses JSON text. On failure returns nullopt and sets `error` (with cpprest's line and column).
std::optional<web::json::value> parse_json(std::string_view text, std::string* error);

// Pretty JSON: objects keep the order the value holds, two-space indent, a trailing newline.
std::string to_pretty_json(const web::json::value& value);

// A deep copy in which every object has its keys sorted (bytewise): a canonical form.
web::json::value sorted_keys(const web::json::value& value);

}  // namespace wo::api
