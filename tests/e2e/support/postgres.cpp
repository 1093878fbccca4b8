#include "support/postgres.h"

#include <cstdlib>
#include <stdexcept>

#include "support/cluster.h"

namespace wo::e2e {
namespace {

std::string image() {
  const char* env = std::getenv("WO_E2E_POSTGRES_IMAGE");  // NOLINT(concurrency-mt-unsafe): read before threads
  return env != nullptr && *env != '\0' ? env : "localhost/worker-operator/postgres:e2e";
}

// A throwaway server: trust authentication from anywhere (the namespace is the test's own), fsync off.
std::string manifests(const std::string& image) {
  return R"(apiVersion: v1
kind: Pod
metadata:
  name: postgres
  labels: {app.kubernetes.io/name: e2e-postgres}
spec:
  securityContext: {runAsUser: 999, runAsGroup: 999, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: postgres
      image: )" +
         image +
         R"(
      imagePullPolicy: IfNotPresent
      command: [bash, -c]
      args:
        - initdb -D /tmp/data -U postgres --auth=trust --no-sync >/dev/null
          && echo 'host all all 0.0.0.0/0 trust' >> /tmp/data/pg_hba.conf
          && exec postgres -D /tmp/data -k /tmp -c listen_addresses='*' -c fsync=off -c max_connections=200
      ports: [{containerPort: 5432, name: postgres}]
      readinessProbe:
        exec: {command: [pg_isready, -h, 127.0.0.1, -U, postgres]}
        periodSeconds: 1
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {cpu: "1", memory: 512Mi}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata:
  name: postgres
spec:
  selector: {app.kubernetes.io/name: e2e-postgres}
  ports: [{port: 5432, targetPort: postgres}]
)";
}

}  // namespace

ClusterPostgres::ClusterPostgres(const std::string& ns) : ns_(ns) {
  kubectl_apply(manifests(image()), ns_);
  const auto ready = kubectl({"wait", "-n", ns_, "--for=condition=Ready", "--timeout=120s", "pod/postgres"});
  if (!ready.ok()) {
    const auto pod = kubectl({"get", "pod", "postgres", "-n", ns_, "-o", "yaml"});
    const auto logs = kubectl({"logs", "postgres", "-n", ns_, "--tail=30"});
    throw std::runtime_error("the e2e Postgres pod (image " + image() + ") did not become Ready: " + ready.err + "\n" +
                             pod.out + "\nlogs:\n" + logs.out + logs.err);
  }
  const auto ip = kubectl({"get", "service", "postgres", "-n", ns_, "-o", "jsonpath={.spec.clusterIP}"});
  if (!ip.ok() || ip.out.empty()) throw std::runtime_error("no ClusterIP for the e2e Postgres Service: " + ip.err);
  url_ = "host=" + ip.out + " port=5432 user=postgres dbname=postgres connect_timeout=5";
}

std::string ClusterPostgres::query(const std::string& sql) const {
  const auto r = kubectl({"exec", "-n", ns_, "postgres", "--", "psql", "-h", "127.0.0.1", "-U", "postgres", "-v",
                          "ON_ERROR_STOP=1", "-tAc", sql});
  if (!r.ok()) throw std::runtime_error("psql in " + ns_ + "/postgres: " + sql + ": " + r.err);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

long long ClusterPostgres::completed(const std::string& table) const {
  if (query("SELECT to_regclass('" + table + "') IS NOT NULL") != "t") return -1;
  return std::stoll(query("SELECT count(*) FROM " + table + " WHERE state = 'completed'"));
}

}  // namespace wo::e2e
