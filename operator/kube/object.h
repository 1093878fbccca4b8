// Reading untyped Kubernetes objects (web::json::value) safely: nested fields by path, and the owner
// references. Objects from the API server are trusted in shape but not in presence, so every reader
// answers "absent" rather than throwing.
#pragma once

#include <cpprest/json.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wo::kube {

// The field at a path of object keys ({"metadata", "labels"}), or nullptr when any step is absent or
// not an object.
const web::json::value* nested(const web::json::value& object, std::initializer_list<std::string_view> path);
// The string at that path, or "" when absent or not a string.
std::string nested_string(const web::json::value& object, std::initializer_list<std::string_view> path);

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

// Every well-formed entry of metadata.ownerReferences (entries without a uid are skipped).
std::vector<OwnerReference> owner_references(const web::json::value& object);
// The owner reference with controller: true (at most one, as the API server enforces), if any.
std::optional<OwnerReference> controller_of(const web::json::value& object);
// The API group of an apiVersion: "apps" of "apps/v1", "" of "v1".
std::string group_of(std::string_view api_version);

// A copy of object holding only the fields `shape` names, for caches that keep what their controller
// reads and nothing else. shape mirrors the object: `true` keeps the whole field, an object keeps the
// fields it names in turn, and applied to an array it keeps those fields of every element. Fields the
// object lacks stay absent; a field whose value is not of the shape's kind (a string where the shape
// expects an object) is kept whole, so that nothing a reader might check is silently turned into
// something else.
web::json::value project(const web::json::value& object, const web::json::value& shape);

}  // namespace wo::kube
