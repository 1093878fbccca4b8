#pragma once
// What every end-to-end test needs: run kubectl against the cluster KUBECONFIG names, wait for
// conditions with deadlines, a namespace of its own, and the operator as a process.

#include <cpprest/json.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "testing/wait.h"

namespace wo::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
};

// Runs argv[0] with its arguments (no shell), feeding stdin_text; captures stdout and stderr.
CommandResult run(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// The source tree (for crds/, manifests/) and the built binaries.
std::string source_dir();
std::string binary_dir();
// $KUBECTL, else the kubectl built by hack/k8s (build/k8s/bin/kubectl).
std::string kubectl_path();

CommandResult kubectl(const std::vector<std::string>& args, const std::string& stdin_text = "");
// kubectl ... -o json, parsed; throws std::runtime_error with kubectl's stderr on failure.
web::json::value kubectl_json(const std::vector<std::string>& args);
// Applies JSON (or YAML) text; throws on failure.
void kubectl_apply(const std::string& manifest, const std::string& ns = "");

// Waiting with a deadline is common/testing's; the suite's conditions run kubectl, so they look a quarter
// of a second apart rather than at wait_until's default pace, which would keep the API server busy.
using wo::testing::wait_until;
inline constexpr std::chrono::milliseconds kPollInterval{250};

// A field by dotted path ("spec.template.spec.containers"), or null.
web::json::value at(const web::json::value& object, const std::string& dotted_path);

// The sum of the restart counts of every container of `pods` (a JSON array of Pod objects).
int container_restarts(const web::json::value& pods);

// Loads a YAML manifest file into JSON documents (resolving scalars as kubectl does).
std::vector<web::json::value> load_manifests(const std::string& path);

// Applies crds/workerjob.yaml and waits until it is Established.
void install_crd();

// A namespace of the test's own ("e2e-<prefix>-<random>"), deleted when it goes out of scope.
class TestNamespace {
 public:
  explicit TestNamespace(const std::string& prefix);
  ~TestNamespace();
  TestNamespace(const TestNamespace&) = delete;
  TestNamespace& operator=(const TestNamespace&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// A loopback port nothing listens on now (the kernel's choice for port 0). Another process could take it
// before the operator binds it; the operator would then fail to start, loudly.
int free_loopback_port();

// build/bin/worker-operator as a child process watching one namespace, logging to a file.
class OperatorProcess {
 public:
  // `binary` empty: this build's bin/worker-operator; the benchmarks pass another build's to compare.
  explicit OperatorProcess(const std::string& ns, std::vector<std::string> extra_args = {}, std::string binary = "");
  ~OperatorProcess();
  OperatorProcess(const OperatorProcess&) = delete;
  OperatorProcess& operator=(const OperatorProcess&) = delete;

  void start();
  void kill9();                                                            // SIGKILL, no cleanup: a crash
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));  // SIGTERM; returns exit status
  bool running() const { return pid_ > 0; }
  bool exited();  // reaps it if it has ended (e.g. refused its flags); true when it is not running
  pid_t pid() const { return pid_; }
  std::string log_tail(size_t lines = 40) const;
  // Its Prometheus text from /metrics (a free loopback port chosen at construction); throws when the
  // endpoint does not answer.
  std::string metrics() const;
  // The sum of the samples of the series whose text starts with `series_prefix` (a metric name and the
  // start of its labels, e.g. `rest_client_requests_total{verb="apply",resource="deployments"`).
  double metric(const std::string& series_prefix) const;

 private:
  std::string ns_;
  std::vector<std::string> extra_args_;
  std::string binary_;
  std::string namespace_flag_;  // "--namespaces=", or "--namespace=" for a baseline build older than it
  std::string log_path_;
  int metrics_port_ = 0;
  pid_t pid_ = -1;
};

// The sum of the samples in Prometheus `text` whose series starts with `series_prefix`.
double metric_sum(const std::string& text, const std::string& series_prefix);

// The successful Deployment applies in an operator's Prometheus text (its request metrics: 200 or 201,
// so a server no-op counts as a write).
double deployment_applies(const std::string& metrics_text);

}  // namespace wo::e2e
