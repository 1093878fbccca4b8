#include "object.h"

namespace wo::kube {

using web::json::value;

const value* nested(const value& object, std::initializer_list<std::string_view> path) {
  const value* cur = &object;
  for (const std::string_view key : path) {
    if (!cur->is_object()) return nullptr;
    const auto& fields = cur->as_object();
    const auto it = fields.find(std::string(key));
    if (it == fields.end()) return nullptr;
    cur = &it->second;
  }
  return cur;
}

std::string nested_string(const value& object, std::initializer_list<std::string_view> path) {
  const value* v = nested(object, path);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

std::vector<OwnerReference> owner_references(const value& object) {
  std::vector<OwnerReference> out;
  const value* refs = nested(object, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const value& ref : refs->as_array()) {
    OwnerReference r;
    r.uid = nested_string(ref, {"uid"});
    if (r.uid.empty()) continue;
    r.api_version = nested_string(ref, {"apiVersion"});
    r.kind = nested_string(ref, {"kind"});
    r.name = nested_string(ref, {"name"});
    const value* controller = nested(ref, {"controller"});
    r.controller = controller != nullptr && controller->is_boolean() && controller->as_bool();
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<OwnerReference> controller_of(const value& object) {
  for (auto& ref : owner_references(object)) {
    if (ref.controller) return std::move(ref);
  }
  return std::nullopt;
}

std::string group_of(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(api_version.substr(0, slash));
}

value project(const value& object, const value& shape) {
  if (!shape.is_object()) return object;  // true: the whole field
  if (object.is_array()) {
    value out = value::array(object.size());
    for (size_t i = 0; i < object.size(); ++i) out[i] = project(object.at(i), shape);
    return out;
  }
  if (!object.is_object()) return object;
  value out = value::object();
  const auto& fields = object.as_object();
  for (const auto& [key, sub_shape] : shape.as_object()) {
    const auto it = fields.find(key);
    if (it != fields.end()) out[key] = project(it->second, sub_shape);
  }
  return out;
}

}  // namespace wo::kube
