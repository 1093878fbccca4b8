#include "workerjob/drift.h"

#include "api/quantity.h"
#include "kube/object.h"
#include "workerjob/render.h"

namespace wo::workerjob {
namespace {

using web::json::value;

// Numbers become their text so that a quantity given as a number (divisor: 1) compares with the
// string the server returns ("1").
std::optional<api::Quantity> quantity_of(const value& v) {
  if (v.is_string()) return api::Quantity::parse(v.as_string());
  if (v.is_number() && v.as_number().is_int64()) return api::Quantity::parse(std::to_string(v.as_number().to_int64()));
  return std::nullopt;
}

bool same_scalar(const value& live, const value& desired, bool quantities) {
  if (live.is_string() && desired.is_string() && live.as_string() == desired.as_string()) return true;
  if (quantities) {
    const auto a = quantity_of(live);
    const auto b = quantity_of(desired);
    if (a && b) return *a == *b;
  }
  if (live.is_number() && desired.is_number()) {
    const auto& a = live.as_number();
    const auto& b = desired.as_number();
    if (a.is_int64() && b.is_int64()) return a.to_int64() == b.to_int64();
    return live.as_double() == desired.as_double();
  }
  return live == desired;
}

// What the server leaves out of the objects it returns (omitempty on strings, maps and slices).
bool empty_value(const value& v) {
  return (v.is_string() && v.as_string().empty()) || (v.is_object() && v.size() == 0) ||
         (v.is_array() && v.size() == 0);
}

bool contains_at(const value& live, const value& desired, bool quantities) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    const auto& live_obj = live.as_object();
    for (const auto& [key, want] : desired.as_object()) {
      const auto it = live_obj.find(key);
      if (it == live_obj.end()) {
        if (empty_value(want)) continue;
        return false;
      }
      if (!contains_at(it->second, want, quantities || key == "resources" || key == "divisor")) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (size_t i = 0; i < desired.size(); ++i) {
      if (!contains_at(live.at(i), desired.at(i), quantities)) return false;
    }
    return true;
  }
  return same_scalar(live, desired, quantities);
}

}  // namespace

bool contains(const value& live, const value& desired) {
  return contains_at(live, desired, false);
}

std::string fingerprint_of(const value& object) {
  return kube::nested_string(object, {"metadata", "annotations", kAppliedHashAnnotation});
}

ApplyNeed apply_need(const value& live, const value& desired, bool check_contents) {
  if (live.is_null()) return ApplyNeed::kMissing;
  const std::string want = fingerprint_of(desired);
  if (want.empty() || fingerprint_of(live) != want) return ApplyNeed::kChanged;
  if (check_contents && !contains(live, desired)) return ApplyNeed::kDrifted;
  return ApplyNeed::kNone;
}

std::string_view to_string(ApplyNeed need) {
  switch (need) {
    case ApplyNeed::kNone:
      return "none";
    case ApplyNeed::kMissing:
      return "missing";
    case ApplyNeed::kChanged:
      return "changed";
    case ApplyNeed::kDrifted:
      return "drifted";
  }
  return "unknown";
}

}  // namespace wo::workerjob
