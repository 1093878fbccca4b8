#include "api/quantity.h"

#include <cstdint>
#include <vector>

namespace wo::api {
namespace {

constexpr std::size_t kMaxTextLength = 64;
constexpr int kMaxExponent = 64;
constexpr std::uint32_t kLimbBase = 1000000000;  // 10^9 per limb

// A tiny unsigned big number (base 10^9, least significant limb first). Inputs are bounded by
// kMaxTextLength and kMaxExponent, so it never grows beyond a few dozen limbs.
class BigNat {
 public:
  void multiply(std::uint32_t factor) {
    std::uint64_t carry = 0;
    for (auto& limb : limbs_) {
      const std::uint64_t v = std::uint64_t{limb} * factor + carry;
      limb = static_cast<std::uint32_t>(v % kLimbBase);
      carry = v / kLimbBase;
    }
    while (carry != 0) {
      limbs_.push_back(static_cast<std::uint32_t>(carry % kLimbBase));
      carry /= kLimbBase;
    }
  }
  void add(std::uint32_t addend) {
    std::uint64_t carry = addend;
    for (auto& limb : limbs_) {
      if (carry == 0) return;
      const std::uint64_t v = std::uint64_t{limb} + carry;
      limb = static_cast<std::uint32_t>(v % kLimbBase);
      carry = v / kLimbBase;
    }
    if (carry != 0) limbs_.push_back(static_cast<std::uint32_t>(carry));
  }
  // Divides in place and returns the remainder.
  std::uint32_t divide(std::uint32_t divisor) {
    std::uint64_t rem = 0;
    for (auto it = limbs_.rbegin(); it != limbs_.rend(); ++it) {
      const std::uint64_t cur = rem * kLimbBase + *it;
      *it = static_cast<std::uint32_t>(cur / divisor);
      rem = cur % divisor;
    }
    trim();
    return static_cast<std::uint32_t>(rem);
  }
  bool is_zero() const { return limbs_.empty(); }
  // Compares with another number: <0, 0, >0.
  int compare(const BigNat& other) const {
    if (limbs_.size() != other.limbs_.size()) return limbs_.size() < other.limbs_.size() ? -1 : 1;
    for (std::size_t i = limbs_.size(); i-- > 0;) {
      if (limbs_[i] != other.limbs_[i]) return limbs_[i] < other.limbs_[i] ? -1 : 1;
    }
    return 0;
  }
  template <class Int>
  Int to() const {
    Int v = 0;
    for (auto it = limbs_.rbegin(); it != limbs_.rend(); ++it) v = v * kLimbBase + *it;
    return v;
  }

 private:
  void trim() {
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  }
  std::vector<std::uint32_t> limbs_;
};

// The smallest rejected magnitude, in nano-units: (2^63 - 1) * 10^9.
const BigNat& max_nanos() {
  static const BigNat max = [] {
    BigNat n;
    n.add(0);
    // 2^63 - 1 = 9223372036854775807, built digit by digit.
    for (const char c : std::string_view("9223372036854775807")) {
      n.multiply(10);
      n.add(static_cast<std::uint32_t>(c - '0'));
    }
    n.multiply(kLimbBase);
    return n;
  }();
  return max;
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads the suffix into a power of ten and a power of two.
bool parse_suffix(std::string_view suffix, int& exp10, int& exp2, std::string* error) {
  exp10 = 0;
  exp2 = 0;
  if (suffix.empty()) return true;
  static constexpr std::pair<std::string_view, int> kDecimal[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"k", 3}, {"M", 6},
                                                                  {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  for (const auto& [name, power] : kDecimal) {
    if (suffix == name) {
      exp10 = power;
      return true;
    }
  }
  static constexpr std::pair<std::string_view, int> kBinary[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30},
                                                                 {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  for (const auto& [name, power] : kBinary) {
    if (suffix == name) {
      exp2 = power;
      return true;
    }
  }
  if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::size_t i = 1;
    bool negative = false;
    if (i < suffix.size() && (suffix[i] == '+' || suffix[i] == '-')) negative = suffix[i++] == '-';
    if (i == suffix.size()) return fail(error, "exponent \"" + std::string(suffix) + "\" has no digits");
    int value = 0;
    for (; i < suffix.size(); ++i) {
      if (!is_digit(suffix[i])) return fail(error, "exponent \"" + std::string(suffix) + "\" is not a whole number");
      value = value * 10 + (suffix[i] - '0');
      if (value > kMaxExponent) return fail(error, "exponent \"" + std::string(suffix) + "\" is out of range");
    }
    exp10 = negative ? -value : value;
    return true;
  }
  return fail(error, "unknown suffix \"" + std::string(suffix) +
                         "\" (use one of n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent like e3)");
}

}  // namespace

std::optional<Quantity> Quantity::parse(std::string_view text, std::string* error) {
  if (text.empty()) {
    fail(error, "is empty, want a quantity such as 100m, 1 or 500Mi");
    return std::nullopt;
  }
  if (text.size() > kMaxTextLength) {
    fail(error, "is longer than " + std::to_string(kMaxTextLength) + " characters");
    return std::nullopt;
  }
  std::size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';

  BigNat digits;
  int fraction_digits = 0;
  int digit_count = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      digits.multiply(10);
      digits.add(static_cast<std::uint32_t>(c - '0'));
      ++digit_count;
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (digit_count == 0) {
    fail(error, "\"" + std::string(text) + "\" does not start with a number (want e.g. 100m, 1 or 500Mi)");
    return std::nullopt;
  }
  int exp10 = 0;
  int exp2 = 0;
  if (!parse_suffix(text.substr(i), exp10, exp2, error)) return std::nullopt;

  // value = digits * 10^(exp10 - fraction_digits) * 2^exp2; in nano-units shift by 9 more.
  int scale10 = exp10 + 9 - fraction_digits;
  for (int k = 0; k < exp2; ++k) digits.multiply(2);
  for (; scale10 > 0; --scale10) digits.multiply(10);
  bool inexact = false;
  for (; scale10 < 0; ++scale10) inexact = digits.divide(10) != 0 || inexact;
  if (inexact) digits.add(1);  // round away from zero to the nano-unit, as the API server does
  // The API server clamps larger values to 2^63-1 (so 1e30 would read back as that): it is out too.
  if (digits.compare(max_nanos()) >= 0) {
    fail(error, "\"" + std::string(text) + "\" is too large (must be below 9223372036854775807, about 8Ei)");
    return std::nullopt;
  }
  Nanos nanos = digits.to<Nanos>();
  if (negative) nanos = -nanos;
  return Quantity(std::string(text), nanos);
}

int Quantity::compare(const Quantity& other) const {
  if (nanos_ == other.nanos_) return 0;
  return nanos_ < other.nanos_ ? -1 : 1;
}

int Quantity::sign() const {
  return nanos_ == 0 ? 0 : (nanos_ < 0 ? -1 : 1);
}

}  // namespace wo::api
