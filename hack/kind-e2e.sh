#!/usr/bin/env bash
# make kind-e2e: the end-to-end suite on a kind cluster, for machines with Docker. Creates a throwaway
# kind cluster, builds both images with docker, loads them into it, deploys the operator
# (hack/deploy.sh: Available, one leader), runs the e2e ctest label against it, deletes the cluster.
#
#   KIND_CLUSTER=wo-e2e  name of the throwaway cluster (deleted at the end, whatever the outcome)
#   KIND_KEEP=1          keep the cluster afterwards, for debugging
#   BUILD_DIR=build      the CMake build tree with the tests (make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { echo "kind-e2e: $*"; }
die() { echo "kind-e2e: $*" >&2; exit 1; }

for tool in docker kind kubectl ctest; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH (this target needs Docker, kind and kubectl; see docs/operations.md)"
done
docker info >/dev/null 2>&1 || die "docker does not answer (is the daemon running, may this user use it?)"
build_dir=${BUILD_DIR:-build}
[[ -f $build_dir/CTestTestfile.cmake ]] || die "no test tree in $build_dir: run make build first"

cluster=${KIND_CLUSTER:-wo-e2e}
kubeconfig=$(mktemp)
cleanup() {
  if [[ ${KIND_KEEP:-0} == 1 ]]; then
    say "kept kind cluster $cluster (kind delete cluster --name $cluster)"
  else
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  rm -f "$kubeconfig"
}
trap cleanup EXIT

say "creating kind cluster $cluster"
kind create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 120s
export KUBECONFIG=$kubeconfig KUBECTL=kubectl

for component in worker operator; do
  image=localhost/worker-operator/$component:dev
  say "docker build -f Dockerfile.$component -t $image"
  docker build -f "Dockerfile.$component" -t "$image" .
  kind load docker-image --name "$cluster" "$image"
done

hack/deploy.sh

# The suite runs its own operator (build/bin/worker-operator) against the cluster; the deployed one
# would reconcile the same WorkerJobs, so it steps aside once its install has been verified above.
kubectl -n worker-operator-system scale deployment/worker-operator --replicas=0
kubectl -n worker-operator-system wait --for=delete pod -l app.kubernetes.io/name=worker-operator --timeout=60s

# Only the suite: the hack/tests checks (cluster_*) and the `cluster` fixture belong to the local cluster.
say "ctest -L e2e against kind"
ctest --test-dir "$build_dir" --output-on-failure -L '^e2e$' -E '^cluster_' -FA '.*'
say "passed"
