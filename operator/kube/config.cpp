#include "config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "wo/log.h"

namespace wo::kube {
namespace {

// std::getenv for the configuration, which the operator loads at startup. Nothing in the operator modifies
// its environment (only tests call setenv, on one thread), so these reads cannot race with a write.
const char* env(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): the environment is never modified, see above
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + ": cannot read file " + path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw ConfigError(what + ": error reading file " + path);
  return out.str();
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

void require_pem(const std::string& pem, const std::string& where) {
  if (pem.find("-----BEGIN ") == std::string::npos) throw ConfigError(where + ": not PEM data (no -----BEGIN line)");
}

// Context of the kubeconfig walk: the file name for messages and its directory for relative paths.
struct Walk {
  std::string origin;
  std::filesystem::path dir;

  std::string where(const std::string& field) const { return "kubeconfig " + origin + ": " + field; }

  std::string scalar(const YAML::Node& parent, const char* key, const std::string& field) const {
    const YAML::Node n = parent[key];
    if (!n || n.IsNull()) return {};
    if (!n.IsScalar()) throw ConfigError(where(field + "." + key) + " must be a string");
    return n.Scalar();
  }

  // A YAML boolean as kubeconfigs write it (true, True, TRUE); anything else, or absent, is false.
  bool boolean(const YAML::Node& parent, const char* key, const std::string& field) const {
    const std::string v = scalar(parent, key, field);
    return v == "true" || v == "True" || v == "TRUE";
  }

  std::string resolve(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_relative() && !dir.empty()) p = dir / p;
    return p.string();
  }

  // "<key>-data" (base64) or "<key>" (a file path); empty when neither is set.
  std::string data_or_file(const YAML::Node& parent, const std::string& key, const std::string& field) const {
    const std::string data = scalar(parent, (key + "-data").c_str(), field);
    if (!data.empty()) {
      const std::vector<unsigned char> bytes = YAML::DecodeBase64(data);
      if (bytes.empty()) throw ConfigError(where(field + "." + key + "-data") + " is not valid base64");
      std::string pem(bytes.begin(), bytes.end());
      require_pem(pem, where(field + "." + key + "-data"));
      return pem;
    }
    const std::string file = scalar(parent, key.c_str(), field);
    if (file.empty()) return {};
    std::string pem = read_file(resolve(file), where(field + "." + key));
    require_pem(pem, where(field + "." + key) + " (" + resolve(file) + ")");
    return pem;
  }

  // The entry of a named list (clusters, contexts, users) whose name matches; its `inner` map.
  YAML::Node named(const YAML::Node& root, const char* list, const char* inner, const std::string& name) const {
    const YAML::Node entries = root[list];
    if (!entries || entries.IsNull()) throw ConfigError(where(list) + " is missing (looking for \"" + name + "\")");
    if (!entries.IsSequence()) throw ConfigError(where(list) + " must be a list");
    for (const YAML::Node& e : entries) {
      if (!e.IsMap() || !e["name"] || !e["name"].IsScalar() || e["name"].Scalar() != name) continue;
      const YAML::Node body = e[inner];
      if (!body || !body.IsMap()) {
        throw ConfigError(where(std::string(list) + "[" + name + "]." + inner) + " is missing or not a map");
      }
      return body;
    }
    throw ConfigError(where(list) + " has no entry named \"" + name + "\"");
  }
};

// users[].user.exec, checked as client-go checks it.
ExecPlugin exec_plugin(const Walk& w, const YAML::Node& exec, const std::string& field) {
  if (!exec.IsMap()) throw ConfigError(w.where(field) + " must be a map");
  ExecPlugin p;
  p.origin = w.where(field);
  p.api_version = w.scalar(exec, "apiVersion", field);
  if (p.api_version.empty()) throw ConfigError(w.where(field + ".apiVersion") + " is missing");
  p.command = w.scalar(exec, "command", field);
  if (p.command.empty()) throw ConfigError(w.where(field + ".command") + " is missing");
  p.directory = w.dir.string();
  if (const YAML::Node args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) throw ConfigError(w.where(field + ".args") + " must be a list of strings");
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar())
        throw ConfigError(w.where(field + ".args[" + std::to_string(i) + "]") + " must be a string");
      p.args.push_back(args[i].Scalar());
    }
  }
  if (const YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) throw ConfigError(w.where(field + ".env") + " must be a list of {name, value}");
    for (std::size_t i = 0; i < env.size(); ++i) {
      const std::string at = field + ".env[" + std::to_string(i) + "]";
      if (!env[i].IsMap()) throw ConfigError(w.where(at) + " must be a map with name and value");
      const std::string name = w.scalar(env[i], "name", at);
      if (name.empty() || name.find('=') != std::string::npos) {
        throw ConfigError(w.where(at + ".name") + " must be a variable name");
      }
      p.env.emplace_back(name, w.scalar(env[i], "value", at));
    }
  }
  p.interactive_mode = w.scalar(exec, "interactiveMode", field);
  if (p.interactive_mode.empty() && p.api_version == "client.authentication.k8s.io/v1") {
    throw ConfigError(w.where(field + ".interactiveMode") + " is required for " + p.api_version +
                      " (Never, IfAvailable or Always)");
  }
  if (!p.interactive_mode.empty() && p.interactive_mode != "Never" && p.interactive_mode != "IfAvailable" &&
      p.interactive_mode != "Always") {
    throw ConfigError(w.where(field + ".interactiveMode") + " \"" + p.interactive_mode +
                      "\" is not one of Never, IfAvailable, Always");
  }
  p.install_hint = w.scalar(exec, "installHint", field);
  p.provide_cluster_info = w.boolean(exec, "provideClusterInfo", field);
  return p;
}

}  // namespace

// --- TokenSource ---

TokenSource TokenSource::fixed(std::string token) {
  TokenSource t;
  t.token_ = std::move(token);
  t.stale_ = false;
  return t;
}

TokenSource TokenSource::from_file(std::string path, std::chrono::steady_clock::duration refresh_interval) {
  TokenSource t;
  t.path_ = std::move(path);
  t.refresh_ = refresh_interval;
  t.stale_ = true;
  return t;
}

TokenSource TokenSource::from_exec(ExecPlugin plugin, ExecClusterInfo cluster) {
  TokenSource t;
  t.exec_ = std::make_shared<const ExecPlugin>(std::move(plugin));
  t.exec_cluster_ = std::move(cluster);
  t.stale_ = true;
  return t;
}

TokenSource::TokenSource(const TokenSource& other) {
  *this = other;
}

TokenSource& TokenSource::operator=(const TokenSource& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mu_, other.mu_);
  token_ = other.token_;
  path_ = other.path_;
  refresh_ = other.refresh_;
  read_at_ = other.read_at_;
  stale_ = other.stale_;
  exec_ = other.exec_;
  exec_cluster_ = other.exec_cluster_;
  expires_ = other.expires_;
  return *this;
}

std::string TokenSource::token() {
  std::lock_guard lock(mu_);
  if (exec_) return token_from_exec();
  if (!path_.empty()) return token_from_file();
  return token_;
}

std::string TokenSource::token_from_file() {
  const auto now = std::chrono::steady_clock::now();
  if (stale_ || now - read_at_ >= refresh_) {
    std::string fresh;
    try {
      fresh = trim(read_file(path_, "token file"));
    } catch (const ConfigError&) {
      // A rotation in progress can briefly hide the file: keep the last good token if there is one.
      if (token_.empty()) throw;
      wo::log::warn("cannot re-read token file; keeping the previous token", {{"path", path_}});
      read_at_ = now;
      return token_;
    }
    if (fresh.empty()) {
      if (token_.empty()) throw ConfigError("token file " + path_ + " is empty");
    } else {
      token_ = std::move(fresh);
    }
    read_at_ = now;
    stale_ = false;
  }
  return token_;
}

std::string TokenSource::token_from_exec() {
  const bool expiring = expires_ && std::chrono::system_clock::now() + kExpiryMargin >= *expires_;
  if (stale_ || token_.empty() || expiring) {
    // The plugin runs with mu_ held: concurrent requests wait for one run instead of starting one each.
    const ExecCredential fresh = run_exec_plugin(*exec_, exec_cluster_);
    token_ = fresh.token;
    expires_ = fresh.expires;
    stale_ = false;
  }
  return token_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mu_);
  if (!path_.empty() || exec_) stale_ = true;
}

// --- kubeconfig ---

Config parse_kubeconfig(const std::string& text, const std::string& origin, const std::string& context_name) {
  Walk w{origin, std::filesystem::path(origin).parent_path()};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("kubeconfig " + origin + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                      ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw ConfigError("kubeconfig " + origin + ": not a YAML map");

  std::string ctx_name = context_name;
  if (ctx_name.empty()) ctx_name = w.scalar(root, "current-context", "");
  if (ctx_name.empty()) throw ConfigError(w.where("current-context") + " is not set and no context was given");

  const YAML::Node ctx = w.named(root, "contexts", "context", ctx_name);
  const std::string ctx_field = "contexts[" + ctx_name + "].context";
  const std::string cluster_name = w.scalar(ctx, "cluster", ctx_field);
  if (cluster_name.empty()) throw ConfigError(w.where(ctx_field + ".cluster") + " is missing");
  const std::string user_name = w.scalar(ctx, "user", ctx_field);

  Config cfg;
  cfg.source = "kubeconfig " + origin + " context " + ctx_name;
  if (const std::string ns = w.scalar(ctx, "namespace", ctx_field); !ns.empty()) cfg.default_namespace = ns;

  const YAML::Node cluster = w.named(root, "clusters", "cluster", cluster_name);
  const std::string cl_field = "clusters[" + cluster_name + "].cluster";
  cfg.server = w.scalar(cluster, "server", cl_field);
  if (cfg.server.empty()) throw ConfigError(w.where(cl_field + ".server") + " is missing");
  if (cfg.server.rfind("https://", 0) != 0) {
    throw ConfigError(w.where(cl_field + ".server") + " must be an https:// URL (got \"" + cfg.server + "\")");
  }
  if (w.boolean(cluster, "insecure-skip-tls-verify", cl_field)) {
    throw ConfigError(w.where(cl_field + ".insecure-skip-tls-verify") +
                      " is true: refusing to talk to an unverified API server; set certificate-authority instead");
  }
  // tls-server-name cannot be honoured: cpprestsdk also checks the certificate against the URL host.
  for (const char* unsupported : {"proxy-url", "tls-server-name"}) {
    if (cluster[unsupported]) throw ConfigError(w.where(cl_field + "." + unsupported) + " is not supported");
  }
  cfg.ca_pem = w.data_or_file(cluster, "certificate-authority", cl_field);
  if (cfg.ca_pem.empty()) {
    throw ConfigError(w.where(cl_field) +
                      " has neither certificate-authority nor certificate-authority-data (the system trust store is "
                      "never used for the API server)");
  }

  if (!user_name.empty()) {
    const YAML::Node user = w.named(root, "users", "user", user_name);
    const std::string u_field = "users[" + user_name + "].user";
    for (const char* unsupported : {"auth-provider", "username", "password", "as", "as-groups"}) {
      if (user[unsupported]) {
        throw ConfigError(w.where(u_field + "." + unsupported) +
                          " is not supported (use a client certificate, token, tokenFile or exec)");
      }
    }
    cfg.client_cert_pem = w.data_or_file(user, "client-certificate", u_field);
    cfg.client_key_pem = w.data_or_file(user, "client-key", u_field);
    if (cfg.client_cert_pem.empty() != cfg.client_key_pem.empty()) {
      throw ConfigError(w.where(u_field) + ": client-certificate and client-key must be given together");
    }
    if (user["exec"] && !user["exec"].IsNull()) {
      if (!w.scalar(user, "token", u_field).empty() || !w.scalar(user, "tokenFile", u_field).empty()) {
        throw ConfigError(w.where(u_field) + ": exec and token (or tokenFile) are both set; use one");
      }
      cfg.token = TokenSource::from_exec(exec_plugin(w, user["exec"], u_field + ".exec"), {cfg.server, cfg.ca_pem});
      cfg.token.token();  // a plugin that cannot give a token fails at startup, with its message
    } else if (const std::string tok = w.scalar(user, "token", u_field); !tok.empty()) {
      cfg.token = TokenSource::fixed(tok);
    } else if (const std::string file = w.scalar(user, "tokenFile", u_field); !file.empty()) {
      cfg.token = TokenSource::from_file(w.resolve(file));
      try {
        cfg.token.token();
      } catch (const ConfigError& e) {
        throw ConfigError(w.where(u_field + ".tokenFile") + ": " + e.what());
      }
    }
  }
  return cfg;
}

Config load_kubeconfig(const std::string& path, const std::string& context) {
  return parse_kubeconfig(read_file(path, "kubeconfig"), path, context);
}

// --- in-cluster ---

bool in_cluster_available(const InClusterPaths& paths) {
  const char* host = env("KUBERNETES_SERVICE_HOST");
  const char* port = env("KUBERNETES_SERVICE_PORT");
  std::error_code ec;
  return host != nullptr && *host != '\0' && port != nullptr && *port != '\0' &&
         std::filesystem::exists(paths.token, ec);
}

Config load_in_cluster(const InClusterPaths& paths) {
  const char* host = env("KUBERNETES_SERVICE_HOST");
  const char* port = env("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    throw ConfigError("in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  Config cfg;
  cfg.source = "in-cluster service account";
  const std::string h = host;
  cfg.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  cfg.ca_pem = read_file(paths.ca, "in-cluster config: CA");
  require_pem(cfg.ca_pem, "in-cluster config: CA " + paths.ca);
  cfg.token = TokenSource::from_file(paths.token);
  try {
    cfg.token.token();
  } catch (const ConfigError& e) {
    throw ConfigError(std::string("in-cluster config: ") + e.what());
  }
  std::error_code ec;
  if (std::filesystem::exists(paths.namespace_file, ec)) {
    if (std::string ns = trim(read_file(paths.namespace_file, "in-cluster namespace")); !ns.empty()) {
      cfg.default_namespace = ns;
    }
  }
  return cfg;
}

Config load_config(const std::string& kubeconfig_flag, const std::string& context, const InClusterPaths& paths) {
  if (!kubeconfig_flag.empty()) return load_kubeconfig(kubeconfig_flag, context);
  if (in_cluster_available(paths)) return load_in_cluster(paths);
  if (const char* kubeconfig = env("KUBECONFIG"); kubeconfig != nullptr && *kubeconfig != '\0') {
    std::stringstream list(kubeconfig);
    std::string entry;
    std::error_code ec;
    while (std::getline(list, entry, ':')) {
      if (!entry.empty() && std::filesystem::exists(entry, ec)) return load_kubeconfig(entry, context);
    }
    throw ConfigError(std::string("KUBECONFIG=") + kubeconfig + ": no listed file exists");
  }
  const char* home = env("HOME");
  const std::string fallback = std::string(home != nullptr ? home : "") + "/.kube/config";
  std::error_code ec;
  if (home != nullptr && std::filesystem::exists(fallback, ec)) return load_kubeconfig(fallback, context);
  throw ConfigError("no Kubernetes configuration: no --kubeconfig, not in a cluster, KUBECONFIG unset and " + fallback +
                    " missing");
}

std::string server_host(const std::string& server) {
  std::string rest = server;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    return rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return rest.substr(0, rest.find(':'));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace wo::kube
