// Times as the Kubernetes API writes them: RFC 3339, UTC; metav1.Time to the second, metav1.MicroTime
// (a Lease's renewTime, an Event's eventTime) to the microsecond.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace wo::kube {

// "2026-11-28T03:57:51Z".
std::string format_time(std::chrono::system_clock::time_point t);
// "2026-11-28T03:57:51.123456Z": six fractional digits, always.
std::string format_micro_time(std::chrono::system_clock::time_point t);
// Parses RFC 3339 ("...Z", "+hh:mm", fractional seconds); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace wo::kube
