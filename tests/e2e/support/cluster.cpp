#include "support/cluster.h"

#include <arpa/inet.h>
#include <cpprest/http_client.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "api/yaml_json.h"
#include "testing/unique_name.h"

namespace wo::e2e {
namespace {

std::string kubeconfig() {
  const char* env = std::getenv("KUBECONFIG");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  return env != nullptr && *env != '\0' ? env : source_dir() + "/.cluster/kubeconfig";
}

std::vector<char*> c_args(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string source_dir() {
  return WO_SOURCE_DIR;
}
std::string binary_dir() {
  return WO_BINARY_DIR;
}

std::string kubectl_path() {
  const char* env = std::getenv("KUBECTL");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  return env != nullptr && *env != '\0' ? env : binary_dir() + "/k8s/bin/kubectl";
}

CommandResult run(const std::vector<std::string>& argv, const std::string& stdin_text) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::generic_category().message(errno));
  }
  auto args = c_args(argv);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::generic_category().message(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin from a thread so a large manifest cannot deadlock against a full stdout pipe.
  std::thread feeder([fd = in[1], &stdin_text] {
    size_t done = 0;
    while (done < stdin_text.size()) {
      const ssize_t n = write(fd, stdin_text.data() + done, stdin_text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  });
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  feeder.join();
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

CommandResult kubectl(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv = {kubectl_path(), "--kubeconfig", kubeconfig()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, stdin_text);
}

web::json::value kubectl_json(const std::vector<std::string>& args) {
  std::vector<std::string> a = args;
  a.push_back("-o");
  a.push_back("json");
  const auto r = kubectl(a);
  if (!r.ok()) {
    std::string cmd;
    for (const auto& s : args) cmd += " " + s;
    throw std::runtime_error("kubectl" + cmd + " failed: " + r.err);
  }
  return web::json::value::parse(r.out);
}

void kubectl_apply(const std::string& manifest, const std::string& ns) {
  std::vector<std::string> args = {"apply", "-f", "-"};
  if (!ns.empty()) args.insert(args.end(), {"-n", ns});
  const auto r = kubectl(args, manifest);
  if (!r.ok()) throw std::runtime_error("kubectl apply failed: " + r.err + "\nmanifest:\n" + manifest);
}

web::json::value at(const web::json::value& object, const std::string& dotted_path) {
  const web::json::value* cur = &object;
  std::stringstream ss(dotted_path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (cur->is_object() && cur->has_field(part)) {
      cur = &cur->at(part);
    } else if (cur->is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      const size_t i = std::stoul(part);
      if (i >= cur->size()) return web::json::value::null();
      cur = &cur->at(i);
    } else {
      return web::json::value::null();
    }
  }
  return *cur;
}

int container_restarts(const web::json::value& pods) {
  int restarts = 0;
  for (const auto& pod : pods.as_array()) {
    const web::json::value statuses = at(pod, "status.containerStatuses");
    if (!statuses.is_array()) continue;
    for (const auto& s : statuses.as_array()) restarts += at(s, "restartCount").as_integer();
  }
  return restarts;
}

std::vector<web::json::value> load_manifests(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto docs = api::yaml_to_json(text.str(), &error);
  if (!docs) throw std::runtime_error(path + ": " + error);
  return *docs;
}

void install_crd() {
  const auto r = kubectl({"apply", "--server-side", "--force-conflicts", "-f", source_dir() + "/crds/workerjob.yaml"});
  if (!r.ok()) throw std::runtime_error("applying the CRD failed: " + r.err);
  const auto w = kubectl({"wait", "--for=condition=Established", "--timeout=60s", "crd/workerjobs.worker.dev"});
  if (!w.ok()) throw std::runtime_error("the CRD did not become Established: " + w.err);
  // Discovery lags Established a little; kubectl needs it to resolve "workerjobs".
  if (!wait_until([] { return kubectl({"get", "workerjobs", "-A"}).ok(); }, std::chrono::seconds(60), kPollInterval)) {
    throw std::runtime_error("workerjobs not served by discovery within 60 s of the CRD becoming Established");
  }
}

TestNamespace::TestNamespace(const std::string& prefix) : name_(wo::testing::unique_name("e2e-" + prefix)) {
  const auto r = kubectl({"create", "namespace", name_});
  if (!r.ok()) throw std::runtime_error("cannot create namespace " + name_ + ": " + r.err);
}

TestNamespace::~TestNamespace() {
  kubectl({"delete", "namespace", name_, "--wait=false", "--ignore-not-found"});
}

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::generic_category().message(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): as above
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  if (!ok) throw std::runtime_error("cannot find a free loopback port: " + std::generic_category().message(errno));
  return ntohs(addr.sin_port);
}

double metric_sum(const std::string& text, const std::string& series_prefix) {
  double total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series_prefix, 0) != 0) continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

double deployment_applies(const std::string& metrics_text) {
  double writes = 0;
  for (const char* code : {"200", "201"}) {
    writes +=
        metric_sum(metrics_text, std::string(R"(rest_client_requests_total{verb="apply",resource="deployments",)") +
                                     "code=\"" + code + "\"");
  }
  return writes;
}

namespace {

// Builds from before the namespaced mode (commit 8324a1a) took a single --namespace; the benchmarks run
// such a build as their baseline.
std::string namespace_flag(const std::string& binary) {
  return run({binary, "--help"}).out.find("--namespaces=") != std::string::npos ? "--namespaces=" : "--namespace=";
}

}  // namespace

OperatorProcess::OperatorProcess(const std::string& ns, std::vector<std::string> extra_args, std::string binary)
    : ns_(ns),
      extra_args_(std::move(extra_args)),
      binary_(binary.empty() ? binary_dir() + "/bin/worker-operator" : std::move(binary)),
      namespace_flag_(binary_ == binary_dir() + "/bin/worker-operator" ? "--namespaces=" : namespace_flag(binary_)),
      log_path_(binary_dir() + "/tests/operator-" + ns + ".log"),
      metrics_port_(free_loopback_port()) {}

std::string OperatorProcess::metrics() const {
  web::http::client::http_client client("http://127.0.0.1:" + std::to_string(metrics_port_));
  const auto response = client.request(web::http::methods::GET, "/metrics").get();
  if (response.status_code() != web::http::status_codes::OK) {
    throw std::runtime_error("/metrics answered " + std::to_string(response.status_code()));
  }
  return response.extract_string(true).get();
}

double OperatorProcess::metric(const std::string& series_prefix) const {
  return metric_sum(metrics(), series_prefix);
}

OperatorProcess::~OperatorProcess() {
  if (pid_ > 0) stop();
}

void OperatorProcess::start() {
  std::vector<std::string> argv = {binary_,
                                   "--kubeconfig=" + kubeconfig(),
                                   namespace_flag_ + ns_,
                                   "--metrics-addr=127.0.0.1:" + std::to_string(metrics_port_),
                                   "--health-addr=127.0.0.1:0",
                                   "--log-format=text",
                                   "--log-level=debug"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  auto args = c_args(argv);
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::generic_category().message(errno));
  if (pid == 0) {
    // A test that crashes (no destructor runs) must not leave its operator watching and reconciling for
    // ever: the kernel kills the child when the thread that started it, the test's, ends.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
}

bool OperatorProcess::exited() {
  if (pid_ <= 0) return true;
  if (waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

void OperatorProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int OperatorProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string OperatorProcess::log_tail(size_t lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += l + "\n";
  return out;
}

}  // namespace wo::e2e
