#pragma once
// A Postgres server in a pod of the test's namespace, behind a ClusterIP Service, so the worker pods
// under test reach it on any cluster (the local one has no cluster DNS, so the URL names the Service's
// IP). The test reads it with psql through `kubectl exec`.
//
// The image is $WO_E2E_POSTGRES_IMAGE, else localhost/worker-operator/postgres:e2e, which hack/images.sh
// builds from tests/e2e/testdata/Dockerfile.postgres (docker.io/library/postgres:15 works as well).

#include <string>

namespace wo::e2e {

class ClusterPostgres {
 public:
  // Creates the pod and the Service in `ns` and waits until the server accepts connections.
  // Throws std::runtime_error with what went wrong (pod status, logs).
  explicit ClusterPostgres(const std::string& ns);

  // The libpq connection string for worker pods (WORKER_DATABASE_URL).
  const std::string& url() const { return url_; }

  // Runs one SQL statement with psql -tA inside the pod; returns its output without the trailing
  // newline. Throws std::runtime_error with psql's error.
  std::string query(const std::string& sql) const;

  // Records in state 'completed' of a worker queue table; -1 while the table does not exist yet.
  long long completed(const std::string& table) const;

 private:
  std::string ns_;
  std::string url_;
};

}  // namespace wo::e2e
