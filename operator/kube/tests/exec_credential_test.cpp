#include "kube/exec_credential.h"

#include <cpprest/json.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "kube/config.h"
#include "kube/time.h"
#include "support.h"

namespace wo::kube {
namespace {

using testing::base64;
using testing::read_file;
using testing::TempDir;
using namespace std::chrono_literals;

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

// A plugin as the cloud ones behave: it counts its runs in `runs`, records what it was given, fails with a
// message on stderr while the file `fail` exists, and prints a token numbered by its run, expiring at the
// time in the file `expiry` if there is one.
constexpr char kPlugin[] = R"sh(#!/bin/sh
dir=$(dirname "$0")
echo run >> "$dir/runs"
n=$(wc -l < "$dir/runs")
printf '%s' "$KUBERNETES_EXEC_INFO" > "$dir/info"
printf '%s %s' "$PLUGIN_VAR" "$*" > "$dir/seen"
if [ -f "$dir/fail" ]; then echo "could not get a token: $(cat "$dir/fail")" >&2; exit 1; fi
exp=""
[ -f "$dir/expiry" ] && exp=",\"expirationTimestamp\":\"$(cat "$dir/expiry")\""
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s"%s}}' $n "$exp"
)sh";

std::string kubeconfig_with_exec(const std::string& exec) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
         "contexts:\n- name: dev\n  context: {cluster: local, user: admin}\n"
         "clusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:6443\n"
         "    certificate-authority-data: " +
         base64(kPem) + "\nusers:\n- name: admin\n  user:\n    exec:\n" + exec;
}

constexpr char kExec[] =
    "      apiVersion: client.authentication.k8s.io/v1\n"
    "      command: ./plugin.sh\n"
    "      args: [get-token, --cluster, c1]\n"
    "      env: [{name: PLUGIN_VAR, value: hello}]\n"
    "      interactiveMode: IfAvailable\n"
    "      provideClusterInfo: true\n";

struct PluginDir {
  TempDir dir;
  PluginDir() {
    const std::string plugin = dir.write("plugin.sh", kPlugin);
    ::chmod(plugin.c_str(), 0755);
  }
  std::string config(const std::string& exec = kExec) const { return dir.write("config", kubeconfig_with_exec(exec)); }
  int runs() const {
    if (!std::filesystem::exists(dir.file("runs"))) return 0;
    const std::string text = read_file(dir.file("runs"));
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }
};

// Expects loading the kubeconfig to throw a ConfigError whose message contains every fragment.
void expect_load_error(const std::string& path, std::initializer_list<std::string> fragments) {
  try {
    load_kubeconfig(path);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(ExecPlugin, GivesItsTokenWithArgsEnvAndExecInfo) {
  PluginDir p;
  Config c = load_kubeconfig(p.config());
  EXPECT_EQ(p.runs(), 1) << "run once at load, so that a broken plugin fails at startup";
  EXPECT_EQ(c.token.token(), "tok-1");
  EXPECT_TRUE(c.token.refreshable());
  EXPECT_EQ(read_file(p.dir.file("seen")), "hello get-token --cluster c1");
  const auto info = web::json::value::parse(read_file(p.dir.file("info")));
  EXPECT_EQ(info.at("apiVersion").as_string(), "client.authentication.k8s.io/v1");
  EXPECT_EQ(info.at("kind").as_string(), "ExecCredential");
  EXPECT_FALSE(info.at("spec").at("interactive").as_bool());
  EXPECT_EQ(info.at("spec").at("cluster").at("server").as_string(), "https://127.0.0.1:6443");
  EXPECT_EQ(info.at("spec").at("cluster").at("certificate-authority-data").as_string(), base64(kPem));
}

TEST(ExecPlugin, TheTokenIsKeptUntilShortlyBeforeItExpiresAndRenewedAfterA401) {
  PluginDir p;
  p.dir.write("expiry", "2099-01-01T00:00:00Z");
  Config c = load_kubeconfig(p.config());
  EXPECT_EQ(c.token.token(), "tok-1");
  EXPECT_EQ(c.token.token(), "tok-1");
  EXPECT_EQ(p.runs(), 1);
  c.token.invalidate();  // what the client does on a 401
  EXPECT_EQ(c.token.token(), "tok-2");
  // Expiring within the margin: renewed on the next use.
  p.dir.write("expiry", format_time(std::chrono::system_clock::now() + TokenSource::kExpiryMargin / 2));
  c.token.invalidate();
  EXPECT_EQ(c.token.token(), "tok-3");
  EXPECT_EQ(c.token.token(), "tok-4");
  std::filesystem::remove(p.dir.file("expiry"));  // no expiry: valid until a 401
  EXPECT_EQ(c.token.token(), "tok-5");
  EXPECT_EQ(c.token.token(), "tok-5");
}

TEST(ExecPlugin, AFailureNamesTheKubeconfigEntryAndCarriesTheStderr) {
  PluginDir p;
  p.dir.write("fail", "access denied for role dev");
  expect_load_error(p.config(), {"users[admin].user.exec", "\"./plugin.sh\"", "exited with status 1",
                                 "could not get a token: access denied for role dev"});
}

TEST(ExecPlugin, AMissingCommandShowsTheInstallHint) {
  PluginDir p;
  expect_load_error(
      p.config("      apiVersion: client.authentication.k8s.io/v1beta1\n"
               "      command: no-such-auth-plugin\n"
               "      installHint: Install it with your package manager.\n"),
      {"users[admin].user.exec", "\"no-such-auth-plugin\" not found", "Install it with your package manager."});
}

TEST(ExecPlugin, ConfigurationsItCannotHonourAreRefused) {
  PluginDir p;
  const std::string command = "      command: ./plugin.sh\n";
  expect_load_error(p.config("      apiVersion: client.authentication.k8s.io/v1\n" + command),
                    {"users[admin].user.exec.interactiveMode", "is required"});
  expect_load_error(
      p.config("      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Always\n" + command),
      {"interactiveMode is Always", "never has a terminal"});
  expect_load_error(
      p.config("      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Sometimes\n" + command),
      {"\"Sometimes\" is not one of Never, IfAvailable, Always"});
  expect_load_error(p.config("      apiVersion: client.authentication.k8s.io/v1alpha1\n" + command),
                    {"apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported"});
  expect_load_error(p.config("      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n"
                             "      env: [{value: x}]\n" +
                             command),
                    {"users[admin].user.exec.env[0].name", "variable name"});
  expect_load_error(p.config("      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n" +
                             command + "    token: also-a-token\n"),
                    {"exec and token (or tokenFile) are both set"});
  EXPECT_EQ(p.runs(), 0);
}

TEST(ExecPlugin, WhatThePluginPrintsIsChecked) {
  ExecPlugin plugin;
  plugin.api_version = "client.authentication.k8s.io/v1";
  plugin.origin = "kubeconfig k: users[u].user.exec";
  const auto error_of = [&](const std::string& out) {
    try {
      parse_exec_credential(out, plugin);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string head = R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":)";
  EXPECT_NE(error_of("Please log in first").find("no ExecCredential JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"Status"})").find("not an ExecCredential"), std::string::npos);
  EXPECT_NE(error_of(R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential"})")
                .find("apiVersion \"client.authentication.k8s.io/v1beta1\", the kubeconfig asks for"),
            std::string::npos);
  EXPECT_NE(error_of(head + "{}}").find("no status.token"), std::string::npos);
  EXPECT_NE(error_of(head + R"({"clientCertificateData":"x","clientKeyData":"y"}})").find("client certificate"),
            std::string::npos);
  EXPECT_NE(error_of(head + R"({"token":"t","expirationTimestamp":"tomorrow"}})").find("not an RFC 3339 time"),
            std::string::npos);
  const ExecCredential ok =
      parse_exec_credential(head + R"({"token":"t","expirationTimestamp":"2026-12-07T10:00:00Z"}})", plugin);
  EXPECT_EQ(ok.token, "t");
  EXPECT_EQ(ok.expires, parse_time("2026-12-07T10:00:00Z"));
}

TEST(ExecPlugin, APluginThatHangsIsStoppedAtItsTimeout) {
  TempDir dir;
  const std::string script = dir.write("hang.sh", "#!/bin/sh\necho 'waiting for a browser login' >&2\nsleep 60\n");
  ::chmod(script.c_str(), 0755);
  ExecPlugin plugin;
  plugin.api_version = "client.authentication.k8s.io/v1";
  plugin.interactive_mode = "IfAvailable";
  plugin.command = script;
  plugin.origin = "kubeconfig k: users[u].user.exec";
  plugin.timeout = 1s;
  try {
    run_exec_plugin(plugin, {});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish within 1 s: waiting for a browser login"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace wo::kube
