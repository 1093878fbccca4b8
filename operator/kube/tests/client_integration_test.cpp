// The REST client against the local control plane: CRUD, errors mapped to Status, pagination, SSA,
// merge patch, delete preconditions, metrics, token files re-read on 401, exec credential plugins.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "cluster_env.h"
#include "kube/client.h"
#include "support.h"
#include "tcp_proxy.h"
#include "testing/wait.h"
#include "wo/metrics.h"

namespace wo::kube {
namespace {

using namespace testing;
using web::json::value;
using wo::testing::wait_until;

class ClientIT : public ::testing::Test {
 protected:
  // A token of a new service account in the test namespace, from the TokenRequest API (the admin
  // kubeconfig uses a client certificate). The account has no RBAC: requests with it get 403 or 404.
  std::string service_account_token(const std::string& name) {
    value sa = value::object();
    sa["apiVersion"] = value::string("v1");
    sa["kind"] = value::string("ServiceAccount");
    sa["metadata"]["name"] = value::string(name);
    client->create({"", "v1", "serviceaccounts", true, "ServiceAccount"}, ns->name(), sa);
    value tr = value::object();
    tr["apiVersion"] = value::string("authentication.k8s.io/v1");
    tr["kind"] = value::string("TokenRequest");
    tr["spec"]["expirationSeconds"] = value::number(600);
    // POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token
    // (a subresource create, spelled as a plural path: create() takes no name/subresource)
    const ResourceRef token_sub{"", "v1", "serviceaccounts/" + name + "/token", true};
    return client->create(token_sub, ns->name(), tr).at("status").at("token").as_string();
  }

  // Expects a request as the service account `name`: authenticated (no 401), refused by RBAC.
  void expect_authenticated_as(Client& as, const std::string& name) {
    try {
      as.get(kConfigMaps, ns->name(), "anything");
      FAIL() << "expected 403 (authenticated, no RBAC) or 404";
    } catch (const ApiError& e) {
      EXPECT_FALSE(e.is_unauthorized()) << e.what();
      EXPECT_TRUE(e.is_forbidden() || e.is_not_found()) << e.what();
      EXPECT_NE(e.message().find("system:serviceaccount:" + ns->name() + ":" + name), std::string::npos) << e.what();
    }
  }

  metrics::Registry registry;
  std::unique_ptr<Client> client;
  std::unique_ptr<TestNamespace> ns;
  void SetUp() override {
    ClientOptions o;
    o.metrics = &registry;
    client = std::make_unique<Client>(test_cluster_config(), o);
    ns = std::make_unique<TestNamespace>(*client);
  }
  void TearDown() override {
    ns.reset();
    client.reset();
  }
};

TEST_F(ClientIT, CreateGetUpdateConflictDelete) {
  value created = client->create(kConfigMaps, ns->name(), configmap("a", "crud"));
  EXPECT_EQ(meta_string(created, "name"), "a");
  try {
    client->create(kConfigMaps, ns->name(), configmap("a", "crud"));
    FAIL() << "expected AlreadyExists";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.is_already_exists()) << e.what();
    EXPECT_EQ(e.code(), 409);
  }
  value got = client->get(kConfigMaps, ns->name(), "a");
  got["data"]["key"] = value::string("y");
  value updated = client->update(kConfigMaps, ns->name(), got);
  EXPECT_EQ(updated.at("data").at("key").as_string(), "y");
  try {
    client->update(kConfigMaps, ns->name(), got);  // stale resourceVersion
    FAIL() << "expected Conflict";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.is_conflict()) << e.what();
  }
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  EXPECT_THROW(client->remove(kConfigMaps, ns->name(), "a", wrong_uid), ApiError);
  DeleteOptions right;
  right.precondition_uid = meta_string(updated, "uid");
  right.propagation_policy = "Background";
  client->remove(kConfigMaps, ns->name(), "a", right);
  try {
    client->get(kConfigMaps, ns->name(), "a");
    FAIL() << "expected NotFound";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.is_not_found()) << e.what();
    EXPECT_EQ(e.reason(), "NotFound");
    EXPECT_NE(std::string(e.what()).find(ns->name() + "/a"), std::string::npos) << e.what();
  }
}

TEST_F(ClientIT, ListPaginatesAndFiltersByLabel) {
  for (int i = 0; i < 5; ++i) client->create(kConfigMaps, ns->name(), configmap("p" + std::to_string(i), "page"));
  client->create(kConfigMaps, ns->name(), configmap("other", "nope"));
  ListOptions o;
  o.label_selector = "wo-test=page";
  o.limit = 2;
  const value page = client->list_page(kConfigMaps, ns->name(), o);
  EXPECT_EQ(page.at("items").size(), 2u);
  EXPECT_FALSE(page.at("metadata").at("continue").as_string().empty());
  const value all = client->list(kConfigMaps, ns->name(), o);
  EXPECT_EQ(all.at("items").size(), 5u);
  EXPECT_FALSE(all.at("metadata").at("resourceVersion").as_string().empty());
  for (const auto& item : all.at("items").as_array()) {  // as a get returns it, though list items lack both
    EXPECT_EQ(item.at("kind").as_string(), "ConfigMap");
    EXPECT_EQ(item.at("apiVersion").as_string(), "v1");
  }
}

TEST_F(ClientIT, ServerSideApplyAndMergePatch) {
  value applied = client->apply(kConfigMaps, ns->name(), "ssa", configmap("ssa", "apply", "one"), "wo-test-manager");
  EXPECT_EQ(applied.at("data").at("key").as_string(), "one");
  applied = client->apply(kConfigMaps, ns->name(), "ssa", configmap("ssa", "apply", "two"), "wo-test-manager");
  EXPECT_EQ(applied.at("data").at("key").as_string(), "two");
  value patch = value::object();
  patch["metadata"]["annotations"]["note"] = value::string("patched");
  const value patched = client->merge_patch(kConfigMaps, ns->name(), "ssa", patch);
  EXPECT_EQ(patched.at("metadata").at("annotations").at("note").as_string(), "patched");
  EXPECT_EQ(patched.at("data").at("key").as_string(), "two");
  // Another manager taking the field without force conflicts; with force it wins.
  try {
    client->apply(kConfigMaps, ns->name(), "ssa", configmap("ssa", "apply", "three"), "other-manager", false);
    FAIL() << "expected an apply conflict";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.is_conflict()) << e.what();
  }
  EXPECT_EQ(client->apply(kConfigMaps, ns->name(), "ssa", configmap("ssa", "apply", "three"), "other-manager", true)
                .at("data")
                .at("key")
                .as_string(),
            "three");
}

TEST_F(ClientIT, RequestsAreCountedByVerbResourceAndCode) {
  client->get(kNamespaces, "", ns->name());
  EXPECT_THROW(client->get(kConfigMaps, ns->name(), "missing"), ApiError);
  const std::string text = registry.render();
  EXPECT_NE(text.find("rest_client_requests_total{verb=\"get\",resource=\"namespaces\",code=\"200\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rest_client_requests_total{verb=\"get\",resource=\"configmaps\",code=\"404\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rest_client_request_duration_seconds_bucket{verb=\"get\""), std::string::npos) << text;
}

// The status subresource, on a test CustomResourceDefinition (installed once, left in place: it is
// harmless and concurrent test runs share it).
TEST_F(ClientIT, StatusSubresource) {
  const ResourceRef crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false, "CustomResourceDefinition"};
  const value crd = value::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.wo-test.worker.dev"},
    "spec": {"group": "wo-test.worker.dev", "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
      "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})");
  client->apply(crds, "", "widgets.wo-test.worker.dev", crd, "wo-test");
  const ResourceRef widgets{"wo-test.worker.dev", "v1", "widgets", true, "Widget"};
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          client->list_page(widgets, ns->name(), {});
          return true;
        } catch (const ApiError&) {
          return false;  // not established yet
        }
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200)));

  value w = value::parse(R"({"apiVersion": "wo-test.worker.dev/v1", "kind": "Widget", "metadata": {"name": "w"},
                             "spec": {"size": 1}, "status": {"ignored": true}})");
  value created = client->create(widgets, ns->name(), w);
  EXPECT_FALSE(created.has_field("status")) << "status is ignored on the main resource";
  created["status"] = value::parse(R"({"observedGeneration": 1})");
  created["spec"]["size"] = value::number(99);  // ignored by /status
  value after = client->update_status(widgets, ns->name(), created);
  EXPECT_EQ(after.at("status").at("observedGeneration").as_integer(), 1);
  EXPECT_EQ(after.at("spec").at("size").as_integer(), 1);
  const value applied =
      client->apply(widgets, ns->name(), "w",
                    value::parse(R"({"apiVersion": "wo-test.worker.dev/v1", "kind": "Widget", "metadata": {"name": "w"},
                       "status": {"ready": "yes"}})"),
                    "wo-test-status", true, "status");
  EXPECT_EQ(applied.at("status").at("ready").as_string(), "yes");
  const value patched =
      client->merge_patch(widgets, ns->name(), "w", value::parse(R"({"status": {"ready": "no"}})"), "status");
  EXPECT_EQ(patched.at("status").at("ready").as_string(), "no");
}

// cpprestsdk fails a write on a pooled keep-alive connection the server has closed ("Failed to write
// request body", docs/client.md). Safe writes are sent once more; a create is not (it surfaces).
TEST_F(ClientIT, SafeWritesSurviveAClosedKeepAliveConnection) {
  const std::string& server = client->config().server;
  TcpProxy proxy(static_cast<uint16_t>(std::stoi(server.substr(server.rfind(':') + 1))));
  Config c = test_cluster_config();
  c.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  metrics::Registry proxy_metrics;
  ClientOptions o;
  o.metrics = &proxy_metrics;
  Client via_proxy(c, o);
  via_proxy.apply(kConfigMaps, ns->name(), "ka", configmap("ka", "keepalive", "1"), "wo-test");
  for (int i = 2; i <= 4; ++i) {
    proxy.cut_all();  // the pooled connection dies while idle, as after the API server's 90 s idle timeout
    const value v =
        via_proxy.apply(kConfigMaps, ns->name(), "ka", configmap("ka", "keepalive", std::to_string(i)), "wo-test");
    EXPECT_EQ(v.at("data").at("key").as_string(), std::to_string(i));
  }
  proxy.cut_all();
  value got = via_proxy.get(kConfigMaps, ns->name(), "ka");
  proxy.cut_all();
  got["data"]["key"] = value::string("put");
  EXPECT_EQ(via_proxy.update(kConfigMaps, ns->name(), got).at("data").at("key").as_string(), "put");
  proxy.cut_all();
  value patch = value::object();
  patch["data"]["key"] = value::string("merged");
  EXPECT_EQ(via_proxy.merge_patch(kConfigMaps, ns->name(), "ka", patch).at("data").at("key").as_string(), "merged");
  proxy.cut_all();
  via_proxy.remove(kConfigMaps, ns->name(), "ka");
  // The failures really happened (and were retried): counted as requests without a response.
  const std::string text = proxy_metrics.render();
  EXPECT_NE(text.find("rest_client_requests_total{verb=\"apply\",resource=\"configmaps\",code=\"<error>\"}"),
            std::string::npos)
      << text;
}

// A token file replaced while the client runs is used at once after a 401, without a restart.
TEST_F(ClientIT, ReplacedTokenFileIsPickedUp) {
  const std::string good = service_account_token("tokens");
  TempDir dir;
  const std::string path = dir.write("token", "not-a-valid-token");
  Config c = test_cluster_config();
  c.client_cert_pem.clear();
  c.client_key_pem.clear();
  c.token = TokenSource::from_file(path, std::chrono::hours(1));  // only a 401 can make it re-read
  Client by_token(c);
  try {
    by_token.get(kConfigMaps, ns->name(), "anything");
    FAIL() << "expected 401";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.is_unauthorized()) << e.what();
  }
  dir.write("token.new", good);
  std::filesystem::rename(dir.file("token.new"), path);
  expect_authenticated_as(by_token, "tokens");
}

// A kubeconfig whose user is an exec credential plugin, as EKS, GKE and AKS write them: the plugin's
// token reaches the API server, is kept while valid, and a 401 makes the client run the plugin again.
TEST_F(ClientIT, ExecPluginTokenIsUsedAndRenewedAfterA401) {
  TempDir dir;
  dir.write("token", "not-a-valid-token");
  const std::string plugin = dir.write("plugin.sh", R"sh(#!/bin/sh
dir=$(dirname "$0")
echo run >> "$dir/runs"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat "$dir/token")"
)sh");
  std::filesystem::permissions(plugin, std::filesystem::perms::owner_all);
  const Config admin = test_cluster_config();
  const std::string kubeconfig =
      "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
      "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
      "clusters:\n- name: k\n  cluster:\n    server: " +
      admin.server + "\n    certificate-authority-data: " + base64(admin.ca_pem) +
      "\nusers:\n- name: u\n  user:\n    exec:\n"
      "      apiVersion: client.authentication.k8s.io/v1\n"
      "      command: ./plugin.sh\n"
      "      interactiveMode: Never\n";
  Config c = parse_kubeconfig(kubeconfig, dir.write("config", kubeconfig));
  Client by_plugin(c);
  const auto runs = [&] {
    const std::string text = read_file(dir.file("runs"));
    return std::count(text.begin(), text.end(), '\n');
  };
  EXPECT_EQ(runs(), 1);  // at load, with the invalid token
  dir.write("token", service_account_token("plugin"));
  expect_authenticated_as(by_plugin, "plugin");  // a 401 first, then the plugin's new token
  EXPECT_EQ(runs(), 2);
  expect_authenticated_as(by_plugin, "plugin");
  EXPECT_EQ(runs(), 2) << "a token without an expiry is kept until a 401";
}

}  // namespace
}  // namespace wo::kube
