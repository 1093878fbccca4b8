#include "kube/exec_credential.h"

#include <cpprest/asyncrt_utils.h>
#include <cpprest/json.h>

#include <algorithm>

#include "kube/config.h"
#include "kube/object.h"
#include "kube/time.h"
#include "wo/subprocess.h"
#include "wo/text.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere in C++

namespace wo::kube {
namespace {

using web::json::value;

constexpr std::size_t kOutputLimit = 1 << 20;  // an ExecCredential is a few KiB; a certificate chain more
constexpr std::size_t kMessageLimit = 2048;    // of the plugin's stderr, in an error message

bool known_api_version(const std::string& v) {
  return v == "client.authentication.k8s.io/v1" || v == "client.authentication.k8s.io/v1beta1";
}

// KUBERNETES_EXEC_INFO: what the plugin may read about the request.
std::string exec_info(const ExecPlugin& plugin, const ExecClusterInfo& cluster) {
  value info = value::object(true);
  info["apiVersion"] = value::string(plugin.api_version);
  info["kind"] = value::string("ExecCredential");
  info["spec"]["interactive"] = value::boolean(false);
  if (plugin.provide_cluster_info) {
    info["spec"]["cluster"]["server"] = value::string(cluster.server);
    const std::vector<unsigned char> ca(cluster.ca_pem.begin(), cluster.ca_pem.end());
    info["spec"]["cluster"]["certificate-authority-data"] = value::string(utility::conversions::to_base64(ca));
  }
  return info.serialize();
}

// The operator's environment with the plugin's variables set over it, and KUBERNETES_EXEC_INFO.
std::vector<std::string> plugin_environment(const ExecPlugin& plugin, const ExecClusterInfo& cluster) {
  std::vector<std::string> env;
  const auto overridden = [&](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('='));
    return name == "KUBERNETES_EXEC_INFO" ||
           std::any_of(plugin.env.begin(), plugin.env.end(), [&](const auto& kv) { return kv.first == name; });
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {  // NOLINT(*-pointer-arithmetic)
    if (!overridden(*e)) env.emplace_back(*e);
  }
  for (const auto& [name, val] : plugin.env) env.push_back(name + "=" + val);
  env.push_back("KUBERNETES_EXEC_INFO=" + exec_info(plugin, cluster));
  return env;
}

std::string quoted_output(const std::string& text) {
  const std::string clean = wo::text::clean(text, kMessageLimit);
  return clean.empty() ? "(nothing on stderr)" : clean;
}

}  // namespace

ExecCredential parse_exec_credential(const std::string& stdout_text, const ExecPlugin& plugin) {
  value doc;
  try {
    doc = value::parse(stdout_text);
  } catch (const std::exception& e) {
    throw ConfigError(plugin.origin + ": the command printed no ExecCredential JSON (" + e.what() + ")");
  }
  if (!doc.is_object() || nested_string(doc, {"kind"}) != "ExecCredential") {
    throw ConfigError(plugin.origin + ": the command printed JSON that is not an ExecCredential");
  }
  if (const std::string v = nested_string(doc, {"apiVersion"}); v != plugin.api_version) {
    throw ConfigError(plugin.origin + ": the command printed an ExecCredential of apiVersion \"" + v +
                      "\", the kubeconfig asks for \"" + plugin.api_version + "\"");
  }
  ExecCredential out;
  out.token = nested_string(doc, {"status", "token"});
  if (out.token.empty()) {
    throw ConfigError(plugin.origin + (nested_string(doc, {"status", "clientCertificateData"}).empty()
                                           ? ": the command's ExecCredential has no status.token"
                                           : ": the command returned a client certificate, which is not supported "
                                             "(only bearer tokens are)"));
  }
  if (const std::string expiry = nested_string(doc, {"status", "expirationTimestamp"}); !expiry.empty()) {
    out.expires = parse_time(expiry);
    if (!out.expires) {
      throw ConfigError(plugin.origin + ": status.expirationTimestamp \"" + expiry + "\" is not an RFC 3339 time");
    }
  }
  return out;
}

ExecCredential run_exec_plugin(const ExecPlugin& plugin, const ExecClusterInfo& cluster) {
  if (!known_api_version(plugin.api_version)) {
    throw ConfigError(plugin.origin + ".apiVersion \"" + plugin.api_version +
                      "\" is not supported (client.authentication.k8s.io/v1 or v1beta1)");
  }
  if (plugin.interactive_mode == "Always") {
    throw ConfigError(plugin.origin +
                      ".interactiveMode is Always, but worker-operator never has a terminal for the plugin; use a "
                      "credential the plugin can get without asking (IfAvailable or Never)");
  }
  std::string command = plugin.command;
  if (command.find('/') != std::string::npos && command.front() != '/' && !plugin.directory.empty()) {
    command = plugin.directory + "/" + command;
  }
  const auto program = wo::subprocess::find_executable(command);
  if (!program) {
    throw ConfigError(plugin.origin + ": command \"" + plugin.command + "\" not found" +
                      (plugin.install_hint.empty() ? std::string() : ". " + plugin.install_hint));
  }
  wo::subprocess::Command c;
  c.program = *program;
  c.argv.push_back(plugin.command);
  c.argv.insert(c.argv.end(), plugin.args.begin(), plugin.args.end());
  c.env = plugin_environment(plugin, cluster);
  c.output_limit = kOutputLimit;
  c.merge_stderr = false;
  c.deadline = std::chrono::steady_clock::now() + plugin.timeout;
  const wo::subprocess::Result r = wo::subprocess::run(c);
  if (r.timed_out) {
    throw ConfigError(plugin.origin + ": command \"" + plugin.command + "\" did not finish within " +
                      std::to_string(plugin.timeout.count()) + " s: " + quoted_output(r.error_output));
  }
  if (r.signal != 0 || r.exit_code != 0) {
    throw ConfigError(plugin.origin + ": command \"" + plugin.command + "\" " +
                      (r.signal != 0 ? "was killed by signal " + std::to_string(r.signal)
                                     : "exited with status " + std::to_string(r.exit_code)) +
                      ": " + quoted_output(r.error_output));
  }
  if (r.truncated) throw ConfigError(plugin.origin + ": the command printed more than 1 MiB");
  return parse_exec_credential(r.output, plugin);
}

}  // namespace wo::kube
