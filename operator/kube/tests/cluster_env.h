// For integration tests against the local control plane (hack/cluster-up.sh): its kubeconfig, a
// throwaway namespace per test, ConfigMap helpers.
#pragma once

#include <cpprest/json.h>

#include <memory>
#include <string>

#include "kube/client.h"

namespace wo::kube::testing {

// $WO_TEST_KUBECONFIG, else $KUBECONFIG, else <source>/.cluster/kubeconfig.
std::string test_kubeconfig_path();
// Loads it; throws with a message saying to run `make cluster-up` when it is missing.
Config test_cluster_config();

// NOLINTBEGIN(cert-err58-cpp): test constants; an exception here (only bad_alloc) aborts the test binary, failing it
inline const ResourceRef kConfigMaps{"", "v1", "configmaps", true, "ConfigMap"};
inline const ResourceRef kNamespaces{"", "v1", "namespaces", false, "Namespace"};
// NOLINTEND(cert-err58-cpp)

web::json::value configmap(const std::string& name, const std::string& label_value, const std::string& data = "x");

// Creates a uniquely named namespace; deletes it (in the background) on destruction.
class TestNamespace {
 public:
  explicit TestNamespace(Client& client, const std::string& prefix = "wo-kube-test");
  ~TestNamespace();
  const std::string& name() const { return name_; }

 private:
  Client& client_;
  std::string name_;
};

}  // namespace wo::kube::testing
