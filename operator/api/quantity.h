#pragma once
// Kubernetes resource.Quantity ("100m", "1Gi", "0.5", "1e3"): parsing and exact comparison.
//
// The value is held as a whole number of nano-units (10^-9), like the API server after it rounds:
// anything finer than 1n is rounded away from zero. Comparison is exact integer arithmetic, never
// floating point. Magnitudes of 2^63-1 base units (about 9.2E) and more are rejected with an error
// (the API server would clamp them to 2^63-1): no container needs that much, and a bound keeps
// every computation defined.

#include <optional>
#include <string>
#include <string_view>

namespace wo::api {

class Quantity {
 public:
  // Parses `text`; on failure returns nullopt and, when `error` is given, a sentence saying why
  // (e.g. "unknown suffix \"Mb\" (use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent)").
  static std::optional<Quantity> parse(std::string_view text, std::string* error = nullptr);

  // <0, 0, >0 as this quantity is less than, equal to or greater than `other`.
  int compare(const Quantity& other) const;
  bool operator==(const Quantity& other) const { return compare(other) == 0; }
  bool operator<(const Quantity& other) const { return compare(other) < 0; }
  bool operator>(const Quantity& other) const { return compare(other) > 0; }

  int sign() const;
  // The text it was parsed from (for messages; the API server keeps users' spelling too).
  const std::string& text() const { return text_; }

 private:
  __extension__ using Nanos = __int128;
  Quantity(std::string text, Nanos nanos) : text_(std::move(text)), nanos_(nanos) {}

  std::string text_;
  Nanos nanos_ = 0;
};

}  // namespace wo::api
