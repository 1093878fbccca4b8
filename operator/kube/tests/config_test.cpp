#include "kube/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "support.h"

namespace wo::kube {
namespace {

using testing::base64;
using testing::TempDir;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kKey[] = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

std::string kubeconfig(const std::string& cluster_extra, const std::string& user_extra,
                       const std::string& current = "dev") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: " + current +
         "\n"
         "contexts:\n"
         "- name: dev\n  context: {cluster: local, user: admin, namespace: team-a}\n"
         "- name: other\n  context: {cluster: local, user: reader}\n"
         "clusters:\n"
         "- name: local\n  cluster:\n    server: https://127.0.0.1:6443\n" +
         cluster_extra +
         "users:\n"
         "- name: admin\n  user:\n" +
         user_extra + "- name: reader\n  user:\n    token: reader-token\n";
}

std::string ca_data() {
  return "    certificate-authority-data: " + base64(kPem) + "\n";
}

// Expects parse_kubeconfig to throw a ConfigError whose message contains every fragment.
void expect_error(const std::string& text, std::initializer_list<std::string> fragments,
                  const std::string& context = "") {
  try {
    parse_kubeconfig(text, "/etc/test/kubeconfig", context);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

// Saves and clears the named environment variables, sets them with set(), and restores them afterwards.
// NOLINTBEGIN(concurrency-mt-unsafe): these tests run on one thread; nothing reads the environment meanwhile
class EnvGuard {
 public:
  explicit EnvGuard(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
      const char* v = std::getenv(n.c_str());
      saved_.emplace_back(v != nullptr, v != nullptr ? v : "");
      unsetenv(n.c_str());
    }
  }
  ~EnvGuard() {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (saved_[i].first) {
        setenv(names_[i].c_str(), saved_[i].second.c_str(), 1);
      } else {
        unsetenv(names_[i].c_str());
      }
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

  // Only for the names given to the constructor, which it restores.
  void set(const std::string& name, const std::string& value) { setenv(name.c_str(), value.c_str(), 1); }

 private:
  std::vector<std::string> names_;
  std::vector<std::pair<bool, std::string>> saved_;
};
// NOLINTEND(concurrency-mt-unsafe)

TEST(Kubeconfig, CurrentContextWithInlineData) {
  const std::string user =
      "    client-certificate-data: " + base64(kPem) + "\n    client-key-data: " + base64(kKey) + "\n";
  const Config c = parse_kubeconfig(kubeconfig(ca_data(), user), "/etc/test/kubeconfig");
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, kPem);
  EXPECT_EQ(c.client_cert_pem, kPem);
  EXPECT_EQ(c.client_key_pem, kKey);
  EXPECT_TRUE(c.token.empty());
  EXPECT_EQ(c.default_namespace, "team-a");
  EXPECT_NE(c.source.find("context dev"), std::string::npos);
}

TEST(Kubeconfig, NamedContextAndToken) {
  Config c = parse_kubeconfig(kubeconfig(ca_data(), "    token: x\n"), "/etc/test/kubeconfig", "other");
  EXPECT_EQ(c.token.token(), "reader-token");
  EXPECT_EQ(c.default_namespace, "default");
}

TEST(Kubeconfig, FilesResolveRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("ca.crt", kPem);
  dir.write("admin.crt", kPem);
  dir.write("admin.key", kKey);
  dir.write("token", "  file-token\n");
  const std::string text = kubeconfig(
      "    certificate-authority: ca.crt\n",
      "    client-certificate: admin.crt\n    client-key: " + dir.file("admin.key") + "\n    tokenFile: token\n");
  const std::string path = dir.write("config", text);
  Config c = load_kubeconfig(path);
  EXPECT_EQ(c.ca_pem, kPem);
  EXPECT_EQ(c.client_key_pem, kKey);
  EXPECT_EQ(c.token.token(), "file-token");
  EXPECT_EQ(c.token.path(), dir.file("token"));
}

TEST(Kubeconfig, BadFilesNameTheFileAndField) {
  expect_error("a: [unclosed", {"/etc/test/kubeconfig", "invalid YAML", "line 1"});
  expect_error("- a\n- b\n", {"/etc/test/kubeconfig", "not a YAML map"});
  expect_error(kubeconfig(ca_data(), "    token: t\n", "\"\""), {"current-context"});
  expect_error(kubeconfig(ca_data(), "    token: t\n", "missing"), {"contexts", "\"missing\""});
  expect_error(kubeconfig(ca_data(), "    token: t\n"), {"\"nope\""}, "nope");
  expect_error(kubeconfig("", "    token: t\n"), {"clusters[local].cluster", "certificate-authority"});
  expect_error(kubeconfig(ca_data() + "    insecure-skip-tls-verify: true\n", "    token: t\n"),
               {"insecure-skip-tls-verify", "refusing"});
  expect_error(kubeconfig(ca_data(), "    exec:\n      command: aws\n"),
               {"users[admin].user.exec.apiVersion", "missing"});
  expect_error(kubeconfig(ca_data(), "    auth-provider: {name: gcp}\n"),
               {"users[admin].user.auth-provider", "not supported"});
  expect_error(kubeconfig(ca_data(), "    auth-provider: {name: oidc}\n"), {"auth-provider", "not supported"});
  expect_error(kubeconfig(ca_data(), "    client-certificate-data: " + base64(kPem) + "\n"),
               {"users[admin].user", "together"});
  expect_error(kubeconfig("    certificate-authority-data: '%%%'\n", ""), {"certificate-authority-data", "base64"});
  expect_error(kubeconfig("    certificate-authority-data: " + base64("hello") + "\n", ""),
               {"certificate-authority-data", "not PEM"});
  expect_error(kubeconfig("    certificate-authority: /nonexistent/ca.crt\n", ""),
               {"certificate-authority", "/nonexistent/ca.crt"});
  expect_error(kubeconfig(ca_data(), "    tokenFile: /nonexistent/token\n"), {"tokenFile", "/nonexistent/token"});
  std::string http = kubeconfig(ca_data(), "");
  http.replace(http.find("https://"), 8, "http://");
  expect_error(http, {"server", "https://"});
}

TEST(Kubeconfig, MissingFileIsNamed) {
  try {
    load_kubeconfig("/nonexistent/kubeconfig");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kubeconfig"), std::string::npos);
  }
}

struct InCluster {
  TempDir dir;
  InClusterPaths paths;
  InCluster() {
    paths.token = dir.write("token", "sa-token-1\n");
    paths.ca = dir.write("ca.crt", kPem);
    paths.namespace_file = dir.write("namespace", "ops\n");
  }
};

TEST(InClusterConfig, ReadsServiceAccountFiles) {
  EnvGuard env({"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"});
  InCluster ic;
  EXPECT_FALSE(in_cluster_available(ic.paths));
  EXPECT_THROW(load_in_cluster(ic.paths), ConfigError);
  env.set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  env.set("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_TRUE(in_cluster_available(ic.paths));
  Config c = load_in_cluster(ic.paths);
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.token.token(), "sa-token-1");
  EXPECT_EQ(c.default_namespace, "ops");
  env.set("KUBERNETES_SERVICE_HOST", "fd00::1");
  EXPECT_EQ(load_in_cluster(ic.paths).server, "https://[fd00::1]:443");
}

TEST(LoadConfig, PrecedenceFlagThenInClusterThenKubeconfigEnv) {
  EnvGuard env({"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG", "HOME"});
  InCluster ic;
  const std::string from_flag = ic.dir.write("flag-config", kubeconfig(ca_data(), "    token: flag\n"));
  std::string env_text = kubeconfig(ca_data(), "    token: env\n");
  env_text.replace(env_text.find("6443"), 4, "7443");
  const std::string from_env = ic.dir.write("env-config", env_text);
  env.set("HOME", ic.dir.path());
  EXPECT_THROW(load_config("", "", ic.paths), ConfigError);  // nothing at all

  env.set("KUBECONFIG", "/nonexistent:" + from_env);
  EXPECT_EQ(load_config("", "", ic.paths).token.token(), "env");

  env.set("KUBERNETES_SERVICE_HOST", "10.0.0.1");
  env.set("KUBERNETES_SERVICE_PORT", "443");
  EXPECT_EQ(load_config("", "", ic.paths).source, "in-cluster service account");

  EXPECT_EQ(load_config(from_flag, "", ic.paths).token.token(), "flag");
}

TEST(TokenSource, ReReadsTheFileAfterTheIntervalOrInvalidate) {
  TempDir dir;
  const std::string path = dir.write("token", "one");
  TokenSource slow = TokenSource::from_file(path, std::chrono::hours(1));
  TokenSource fast = TokenSource::from_file(path, std::chrono::milliseconds(0));
  EXPECT_EQ(slow.token(), "one");
  EXPECT_EQ(fast.token(), "one");
  dir.write("token.new", "two\n");
  std::filesystem::rename(dir.file("token.new"), path);  // how kubelet swaps projected tokens: atomically
  EXPECT_EQ(fast.token(), "two");
  EXPECT_EQ(slow.token(), "one");  // within its interval
  slow.invalidate();               // what the client does on a 401
  EXPECT_EQ(slow.token(), "two");
  std::filesystem::remove(path);  // mid-rotation: keep the last good token
  EXPECT_EQ(fast.token(), "two");
}

TEST(ServerHost, StripsSchemePortAndBrackets) {
  EXPECT_EQ(server_host("https://127.0.0.1:6443"), "127.0.0.1");
  EXPECT_EQ(server_host("https://[::1]:6443/"), "::1");
  EXPECT_EQ(server_host("https://api.example.com"), "api.example.com");
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_FALSE(is_ip_literal("localhost"));
}

}  // namespace
}  // namespace wo::kube
