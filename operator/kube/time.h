// Times as the Kubernetes API writes them (metav1.Time): RFC 3339, UTC, second precision.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wo::kube {

// "2026-11-28T03:57:51Z".
std::string format_time(std::chrono::system_clock::time_point t);
// Parses RFC 3339 ("...Z", "+hh:mm", fractional seconds); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace wo::kube
