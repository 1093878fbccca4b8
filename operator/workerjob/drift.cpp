#include "workerjob/drift.h"

#include "api/quantity.h"

namespace wo::workerjob {
namespace {

bool same_scalar(const web::json::value& live, const web::json::value& desired, bool quantities) {
  if (live.is_string() && desired.is_string()) {
    if (live.as_string() == desired.as_string()) return true;
    if (!quantities) return false;
    const auto a = api::Quantity::parse(live.as_string());
    const auto b = api::Quantity::parse(desired.as_string());
    return a && b && *a == *b;
  }
  if (live.is_number() && desired.is_number()) {
    const auto& a = live.as_number();
    const auto& b = desired.as_number();
    if (a.is_int64() && b.is_int64()) return a.to_int64() == b.to_int64();
    return live.as_double() == desired.as_double();
  }
  return live == desired;
}

bool contains_at(const web::json::value& live, const web::json::value& desired, bool quantities) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    const auto& live_obj = live.as_object();
    for (const auto& [key, want] : desired.as_object()) {
      const auto it = live_obj.find(key);
      if (it == live_obj.end()) {
        // An empty desired object or array matches an absent field: the server drops empty values.
        if ((want.is_object() && want.size() == 0) || (want.is_array() && want.size() == 0)) continue;
        return false;
      }
      if (!contains_at(it->second, want, quantities || key == "resources")) return false;
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

bool contains(const web::json::value& live, const web::json::value& desired) {
  return contains_at(live, desired, false);
}

}  // namespace wo::workerjob
