// Where the API server is and how to authenticate to it: kubeconfig files and in-cluster configuration.
//
// Precedence (docs/operations.md): the --kubeconfig flag, else the in-cluster service account, else $KUBECONFIG,
// else ~/.kube/config. Errors name the file and the field that is wrong.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "kube/exec_credential.h"

namespace wo::kube {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A bearer token: fixed, read from a file that is replaced as it rotates (projected service-account
// tokens), or printed by an exec credential plugin. The file is re-read at most every refresh_interval;
// the plugin runs again shortly before its token expires. Both happen at once after invalidate() (a 401).
class TokenSource {
 public:
  TokenSource() = default;
  static TokenSource fixed(std::string token);
  static TokenSource from_file(std::string path,
                               std::chrono::steady_clock::duration refresh_interval = std::chrono::seconds(60));
  static TokenSource from_exec(ExecPlugin plugin, ExecClusterInfo cluster);
  TokenSource(const TokenSource& other);
  TokenSource& operator=(const TokenSource& other);

  bool empty() const { return token_.empty() && path_.empty() && !exec_; }
  const std::string& path() const { return path_; }
  // A file or a plugin: a 401 may be cured by asking again.
  bool refreshable() const { return !path_.empty() || exec_ != nullptr; }
  // The current token; throws ConfigError when the file cannot be read or is empty, or the plugin fails.
  std::string token();
  // Forces the next token() to re-read the file or run the plugin again (after the API server answered 401).
  void invalidate();

  // A plugin's token is renewed this long before it expires, so that no request carries one expiring on the way.
  static constexpr std::chrono::seconds kExpiryMargin{10};

 private:
  std::string token_from_file();  // mu_ held
  std::string token_from_exec();  // mu_ held

  mutable std::mutex mu_;
  std::string token_, path_;
  std::chrono::steady_clock::duration refresh_{std::chrono::seconds(60)};
  std::chrono::steady_clock::time_point read_at_{};
  bool stale_ = true;
  std::shared_ptr<const ExecPlugin> exec_;
  ExecClusterInfo exec_cluster_;
  std::optional<std::chrono::system_clock::time_point> expires_;
};

struct Config {
  std::string server;           // "https://host:port"
  std::string ca_pem;           // cluster CA bundle (PEM); required for https
  std::string client_cert_pem;  // optional client certificate chain (PEM)
  std::string client_key_pem;   // its private key (PEM)
  TokenSource token;            // optional bearer token
  std::string default_namespace = "default";
  std::string source;  // where this came from, for messages ("kubeconfig /x context y", "in-cluster")
};

// Paths of the in-cluster service-account files and the environment; overridable for tests.
struct InClusterPaths {
  std::string token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

// Loads a kubeconfig file; context empty = its current-context. Relative file paths inside resolve
// against the kubeconfig's directory. Throws ConfigError naming the file and field.
Config load_kubeconfig(const std::string& path, const std::string& context = "");
// Parses kubeconfig text; `origin` names the file in errors and is the base for relative paths.
Config parse_kubeconfig(const std::string& text, const std::string& origin, const std::string& context = "");

// True when KUBERNETES_SERVICE_HOST/PORT are set and the token file exists.
bool in_cluster_available(const InClusterPaths& paths = {});
Config load_in_cluster(const InClusterPaths& paths = {});

// The contract's precedence: kubeconfig_flag, else in-cluster, else $KUBECONFIG (first existing entry of
// the colon-separated list; files are not merged), else ~/.kube/config.
Config load_config(const std::string& kubeconfig_flag, const std::string& context = "",
                   const InClusterPaths& paths = {});

// "host" of "https://host:port/..." without brackets; used for SNI and SAN checks.
std::string server_host(const std::string& server);
bool is_ip_literal(const std::string& host);

}  // namespace wo::kube
