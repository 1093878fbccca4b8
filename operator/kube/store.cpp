#include "store.h"

#include <mutex>
#include <stdexcept>

#include "client.h"
#include "object.h"

namespace wo::kube {

using web::json::value;

value lean(value object) {
  if (!object.is_object() || !object.has_field("metadata")) return object;
  value& meta = object["metadata"];
  if (meta.is_object()) {
    if (meta.has_field("managedFields")) meta.erase("managedFields");
    if (meta.has_field("annotations") && meta["annotations"].is_object()) {
      value& ann = meta["annotations"];
      if (ann.has_field("kubectl.kubernetes.io/last-applied-configuration")) {
        ann.erase("kubectl.kubernetes.io/last-applied-configuration");
      }
    }
  }
  return object;
}

namespace {

std::vector<std::string> owner_uids(const value& object, bool controller_only) {
  std::vector<std::string> out;
  for (const auto& ref : owner_references(object)) {
    if (!controller_only || ref.controller) out.push_back(ref.uid);
  }
  return out;
}

}  // namespace

IndexFunc index_by_namespace() {
  return [](const value& o) { return std::vector<std::string>{meta_string(o, "namespace")}; };
}

IndexFunc index_by_owner_uid() {
  return [](const value& o) { return owner_uids(o, false); };
}

IndexFunc index_by_controller_owner_uid() {
  return [](const value& o) { return owner_uids(o, true); };
}

void Store::add_index(const std::string& name, IndexFunc func) {
  std::unique_lock lock(mu_);
  Index& idx = indexes_[name];
  idx.func = std::move(func);
  idx.values.clear();
  for (const auto& [key, obj] : items_) {
    for (const auto& v : idx.func(*obj)) idx.values[v].insert(key);
  }
}

void Store::index_locked(const std::string& key, const value& object) {
  for (auto& [name, idx] : indexes_) {
    for (const auto& v : idx.func(object)) idx.values[v].insert(key);
  }
}

void Store::unindex_locked(const std::string& key, const value& object) {
  for (auto& [name, idx] : indexes_) {
    for (const auto& v : idx.func(object)) {
      auto it = idx.values.find(v);
      if (it == idx.values.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) idx.values.erase(it);
    }
  }
}

ObjectPtr Store::get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) out.push_back(obj);
  return out;
}

std::vector<std::string> Store::keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) out.push_back(key);
  return out;
}

std::vector<ObjectPtr> Store::by_index(const std::string& index, const std::string& v) const {
  std::shared_lock lock(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) throw std::invalid_argument("store has no index named " + index);
  std::vector<ObjectPtr> out;
  auto keys = idx->second.values.find(v);
  if (keys == idx->second.values.end()) return out;
  for (const auto& key : keys->second) {
    if (auto it = items_.find(key); it != items_.end()) out.push_back(it->second);
  }
  return out;
}

size_t Store::size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

ObjectPtr Store::upsert(ObjectPtr object) {
  const std::string key = object_key(*object);
  std::unique_lock lock(mu_);
  ObjectPtr old;
  if (auto it = items_.find(key); it != items_.end()) {
    old = it->second;
    unindex_locked(key, *old);
  }
  index_locked(key, *object);
  items_[key] = std::move(object);
  return old;
}

ObjectPtr Store::erase(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = it->second;
  unindex_locked(key, *old);
  items_.erase(it);
  return old;
}

}  // namespace wo::kube
