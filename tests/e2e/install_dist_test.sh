#!/usr/bin/env bash
# The one-file install (make dist) on the real cluster, as a platform team would use it: dist/install.yaml
# rendered with images of other names (IMG=, WORKER_IMG=), the two OCI archives loaded into the node (the
# stand-in for pushing them to a registry), `kubectl apply -f install.yaml`; then the operator comes up
# Ready and holds its Lease, the sample WorkerJobs get Deployments of the named worker image, and the
# documented uninstall (hack/undeploy.sh) leaves no operator object behind and keeps the CRD and the
# WorkerJobs.
#
# It installs into worker-operator-system, so it runs only where no operator is deployed (the suite runs
# it between its two phases); elsewhere it is skipped (exit 77), as it is against a cluster other than the
# local one, whose node it cannot load images into.
set -euo pipefail
root=${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=../../hack/lib/cluster.sh
source "$root/hack/lib/cluster.sh"
# shellcheck source=../../hack/lib/node.sh
source "$root/hack/lib/node.sh"  # node_has_image
export KUBECONFIG=${KUBECONFIG:-$cluster_kubeconfig}
kubectl=${KUBECTL:-$kubectl_bin}
k() { timeout 120 "$kubectl" "$@"; }
say() { echo "install-dist: $*"; }
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
skip() { echo "SKIP: $*"; exit 77; }
check() {  # what, command...: the check passes when the command succeeds
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

[[ $KUBECONFIG == "$cluster_kubeconfig" ]] || skip "KUBECONFIG is not the local cluster's: cannot load images into its node"
k get namespace worker-operator-system >/dev/null 2>&1 &&
  skip "an operator is deployed (namespace worker-operator-system exists): this test installs its own; run it on a cluster without one"

dist=$(mktemp -d)
team=wo-dist-team-$$
cleanup() {
  k delete namespace "$team" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$dist"
}
trap cleanup EXIT
operator_image=localhost/wo-dist-test/operator:$project_version
worker_image=localhost/wo-dist-test/worker:$project_version

say "make dist with IMG=$operator_image WORKER_IMG=$worker_image"
IMG=$operator_image WORKER_IMG=$worker_image DIST_DIR=$dist KUBECTL=$kubectl "$root/hack/dist.sh"
check "install.yaml runs the operator image $operator_image" grep -q "image: $operator_image\$" "$dist/install.yaml"
check "install.yaml gives the operator --worker-image=$worker_image" \
  grep -q -- "- --worker-image=$worker_image\$" "$dist/install.yaml"
check "SHA256SUMS matches the files" bash -c 'cd "$1" && sha256sum --quiet -c SHA256SUMS' _ "$dist"

for archive in "$dist"/operator-"$project_version".oci.tar "$dist"/worker-"$project_version".oci.tar; do
  ctr --address "$containerd_socket" -n k8s.io images import "$archive" >/dev/null
done
for image in "$operator_image" "$worker_image"; do
  check "the node has $image from its archive" node_has_image "$image"
done

say "kubectl apply -f install.yaml"
k apply -f "$dist/install.yaml"
k wait --for=condition=Established --timeout=60s crd/workerjobs.worker.dev >/dev/null
if k -n worker-operator-system rollout status deployment/worker-operator --timeout=180s; then
  pass "the operator Deployment rolled out"
else
  fail "the operator Deployment did not roll out"
  k -n worker-operator-system get pods -o wide >&2 || true
fi
holder=
for _ in $(seq 1 120); do
  holder=$(k -n worker-operator-system get lease worker-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
  [[ $holder == worker-operator-* ]] && break
  sleep 1
done
check "an operator pod holds the Lease (holder '$holder')" test "${holder#worker-operator-}" != "$holder"

say "the samples, in namespace $team"
k create namespace "$team" >/dev/null
k label namespace "$team" pod-security.kubernetes.io/enforce=restricted >/dev/null
samples=()
for file in "$root"/manifests/samples/*.yaml; do
  grep -q '^kind: WorkerJob' "$file" || continue
  sed "s/namespace: campaigns/namespace: $team/" "$file" | k apply -f - >/dev/null
  samples+=("$(basename "$file" .yaml)")
done
for name in "${samples[@]}"; do
  image='' observed='' generation=''
  for _ in $(seq 1 90); do
    image=$(k -n "$team" get deployment "$name" -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)
    observed=$(k -n "$team" get workerjob "$name" -o jsonpath='{.status.observedGeneration}' 2>/dev/null || true)
    generation=$(k -n "$team" get workerjob "$name" -o jsonpath='{.metadata.generation}' 2>/dev/null || true)
    [[ $image == "$worker_image" && -n $observed && $observed == "$generation" ]] && break
    sleep 1
  done
  if [[ $image == "$worker_image" && $observed == "$generation" ]]; then
    pass "WorkerJob $name reconciled: Deployment of $image, status of generation $generation"
  else
    fail "WorkerJob $name not reconciled: Deployment image '$image', observedGeneration '$observed' of '$generation'"
  fi
done

say "uninstall (hack/undeploy.sh)"
KUBECTL=$kubectl "$root/hack/undeploy.sh"
left=$(k get namespace/worker-operator-system clusterrole/worker-operator clusterrolebinding/worker-operator \
  clusterrole/workerjob-editor clusterrole/workerjob-viewer -o name --ignore-not-found 2>&1 || true)
check "no operator object is left (left: '$left')" test -z "$left"
check "the CRD stays" k get crd workerjobs.worker.dev -o name
count=$(k -n "$team" get workerjobs -o name | wc -l)
check "the ${#samples[@]} WorkerJobs stay ($count found)" test "$count" -eq "${#samples[@]}"

((failures == 0)) || { echo "install-dist: $failures check(s) failed" >&2; exit 1; }
echo "install-dist: all checks passed"
