// Exec credential plugins (client.authentication.k8s.io): the kubeconfig names a command, such as
// `aws eks get-token`, `gke-gcloud-auth-plugin` or `kubelogin`, that prints an ExecCredential with a
// bearer token and when it expires. This is how kubeconfigs for EKS, GKE and AKS authenticate.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wo::kube {

// users[].user.exec of a kubeconfig.
struct ExecPlugin {
  std::string api_version;  // client.authentication.k8s.io/v1 or v1beta1
  std::string command;      // as written: a name looked up in PATH, or a path
  std::string directory;    // a relative path in command resolves against it (the kubeconfig's, as in kubectl)
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // set on top of the operator's own environment
  std::string interactive_mode;                          // Never, IfAvailable or Always (v1 requires one)
  std::string install_hint;                              // shown when the command is not found
  bool provide_cluster_info = false;                     // pass the server and CA in KUBERNETES_EXEC_INFO
  std::string origin;                                    // "kubeconfig <file> users[<name>].user.exec", for messages
  std::chrono::seconds timeout{60};
};

// What the plugin printed.
struct ExecCredential {
  std::string token;
  std::optional<std::chrono::system_clock::time_point> expires;  // none: valid until a 401
};

// The cluster the credential is for, passed to plugins that ask (provideClusterInfo).
struct ExecClusterInfo {
  std::string server;
  std::string ca_pem;
};

// The ExecCredential JSON a plugin printed on stdout; throws ConfigError naming `plugin.origin` when it
// is not one, has another apiVersion, or carries no token (a client certificate instead is refused).
ExecCredential parse_exec_credential(const std::string& stdout_text, const ExecPlugin& plugin);

// Runs the plugin non-interactively (stdin closed, spec.interactive false) with KUBERNETES_EXEC_INFO set
// and returns its credential. Throws ConfigError naming the kubeconfig entry, with the plugin's stderr,
// when it cannot run, fails, times out or prints no credential. interactiveMode Always is refused: the
// operator never has a terminal.
ExecCredential run_exec_plugin(const ExecPlugin& plugin, const ExecClusterInfo& cluster);

// "2026-12-07T10:00:00Z" (RFC 3339, any offset, optional fraction) as a time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

}  // namespace wo::kube
