// A thread-safe, indexed cache of objects keyed by "namespace/name", holding lean copies.
#pragma once

#include <cpprest/json.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace wo::kube {

// Objects are immutable once stored; readers share them without copying.
using ObjectPtr = std::shared_ptr<const web::json::value>;
// An index function returns the index values an object is filed under (none, one or several).
using IndexFunc = std::function<std::vector<std::string>(const web::json::value&)>;

// Removes what a controller never reads but that dominates memory: metadata.managedFields and the
// kubectl last-applied-configuration annotation.
web::json::value lean(web::json::value object);

// Index functions most controllers want.
IndexFunc index_by_namespace();
IndexFunc index_by_owner_uid();             // every ownerReferences[].uid
IndexFunc index_by_controller_owner_uid();  // the ownerReference with controller: true

class Store {
 public:
  // Adds an index; existing objects are indexed at once.
  void add_index(const std::string& name, IndexFunc func);

  ObjectPtr get(const std::string& key) const;  // null when absent
  std::vector<ObjectPtr> list() const;
  std::vector<std::string> keys() const;
  // Objects filed under value in the named index; throws std::invalid_argument for an unknown index.
  std::vector<ObjectPtr> by_index(const std::string& index, const std::string& value) const;
  size_t size() const;

  // Inserts or replaces (by object_key); returns the previous object or null.
  ObjectPtr upsert(ObjectPtr object);
  // Removes; returns the removed object or null.
  ObjectPtr erase(const std::string& key);

 private:
  struct Index {
    IndexFunc func;
    std::map<std::string, std::set<std::string>> values;  // index value -> keys
  };
  void index_locked(const std::string& key, const web::json::value& object);
  void unindex_locked(const std::string& key, const web::json::value& object);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, Index> indexes_;
};

}  // namespace wo::kube
