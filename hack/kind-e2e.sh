#!/usr/bin/env bash
# make kind-e2e: the end-to-end suite on a kind cluster, for machines with Docker. Creates a throwaway
# kind cluster, builds the images with docker (worker, operator, the suite's Postgres), loads them into
# it, runs the e2e ctest label against it (which deploys the operator for the user stories), deletes
# the cluster.
#
#   KIND_CLUSTER=wo-e2e  name of the throwaway cluster (deleted at the end, whatever the outcome)
#   KIND_KEEP=1          keep the cluster afterwards, for debugging
#   BUILD_DIR=build      the CMake build tree with the tests (make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster.sh
source "$root/hack/lib/cluster.sh"  # project_image: the images' names and version
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

images=(
  "Dockerfile.worker:$(project_image worker)"
  "Dockerfile.operator:$(project_image operator)"
  tests/e2e/testdata/Dockerfile.postgres:localhost/worker-operator/postgres:e2e
)
for target in "${images[@]}"; do
  dockerfile=${target%%:*} image=${target#*:}
  say "docker build -f $dockerfile -t $image"
  docker build -f "$dockerfile" -t "$image" --build-arg "VERSION=$project_version" \
    --build-arg "GIT_COMMIT=$(project_commit)" .
  kind load docker-image --name "$cluster" "$image"
done

# The suite's own fixtures do the rest in order: the operator-as-a-process tests, then hack/deploy.sh and
# the user stories against the deployed operator, then hack/undeploy.sh. Only the hack/tests checks
# (cluster_*) and the `cluster` fixture belong to the local cluster.
say "ctest -L e2e against kind"
ctest --test-dir "$build_dir" --output-on-failure -L '^e2e$' -E '^cluster_' -FA '^cluster$'
say "passed"
