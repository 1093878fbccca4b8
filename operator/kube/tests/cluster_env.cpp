#include "cluster_env.h"

#include <cstdlib>
#include <filesystem>

#include "testing/unique_name.h"

namespace wo::kube::testing {

using web::json::value;

std::string test_kubeconfig_path() {
  // NOLINTBEGIN(concurrency-mt-unsafe): the cluster tests never modify their environment, so reads cannot race
  if (const char* p = std::getenv("WO_TEST_KUBECONFIG"); p != nullptr && *p != '\0') return p;
  if (const char* p = std::getenv("KUBECONFIG"); p != nullptr && *p != '\0') return p;
  // NOLINTEND(concurrency-mt-unsafe)
  return std::string(WO_SOURCE_DIR) + "/.cluster/kubeconfig";
}

Config test_cluster_config() {
  const std::string path = test_kubeconfig_path();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::runtime_error("no cluster kubeconfig at " + path + ": run `make cluster-up` first");
  }
  return load_kubeconfig(path);
}

value configmap(const std::string& name, const std::string& label_value, const std::string& data) {
  value cm = value::object();
  cm["apiVersion"] = value::string("v1");
  cm["kind"] = value::string("ConfigMap");
  cm["metadata"]["name"] = value::string(name);
  cm["metadata"]["labels"]["wo-test"] = value::string(label_value);
  cm["data"]["key"] = value::string(data);
  return cm;
}

TestNamespace::TestNamespace(Client& client, const std::string& prefix)
    : client_(client), name_(wo::testing::unique_name(prefix)) {
  value ns = value::object();
  ns["apiVersion"] = value::string("v1");
  ns["kind"] = value::string("Namespace");
  ns["metadata"]["name"] = value::string(name_);
  client_.create(kNamespaces, "", ns);
}

TestNamespace::~TestNamespace() {
  try {
    client_.remove(kNamespaces, "", name_);
  } catch (const std::exception&) {
    // best effort: a leftover test namespace is harmless
  }
}

}  // namespace wo::kube::testing
