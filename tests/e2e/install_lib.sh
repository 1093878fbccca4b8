# shellcheck shell=bash
# Shared by the install-path tests (install_dist_test.sh, helm_test.sh): checks that count failures, and
# what "installed and working" means for every path: the operator rolled out and one pod leads, and the
# sample WorkerJobs get Deployments of the expected worker image.
# Source it after setting root; it sets KUBECONFIG (the local cluster's unless set) and kubectl.
: "${root:?set root (the repository) before sourcing install_lib.sh}"
# shellcheck source=../../hack/lib/cluster.sh
source "$root/hack/lib/cluster.sh"
# shellcheck source=../../hack/lib/node.sh
source "$root/hack/lib/node.sh"  # node_has_image
export KUBECONFIG=${KUBECONFIG:-$cluster_kubeconfig}
kubectl=${KUBECTL:-$kubectl_bin}
failures=0

k() { timeout 120 "$kubectl" "$@"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
skip() { echo "SKIP: $*"; exit 77; }
check() {  # what, command...: the check passes when the command succeeds
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {  # name: the exit status of the test
  ((failures == 0)) || { echo "$1: $failures check(s) failed" >&2; exit 1; }
  echo "$1: all checks passed"
}

# Install paths share the operator's namespace and cluster-wide names: run only where none is deployed,
# on the local cluster (images are loaded into its node).
require_no_operator() {
  [[ $KUBECONFIG == "$cluster_kubeconfig" ]] || skip "KUBECONFIG is not the local cluster's: cannot load images into its node"
  # A namespace still terminating (an uninstall just before) is waited for.
  k wait --for=delete namespace/worker-operator-system --timeout=120s >/dev/null 2>&1 || true
  if k get namespace worker-operator-system >/dev/null 2>&1; then
    skip "an operator is deployed (namespace worker-operator-system exists): this test installs its own; run it on a cluster without one"
  fi
}

# operator_leads NAMESPACE DEPLOYMENT: rolled out, and one of its pods holds the Lease of the same name.
operator_leads() {
  local ns=$1 name=$2 holder=''
  check "the operator Deployment $ns/$name rolled out" k -n "$ns" rollout status "deployment/$name" --timeout=180s
  for _ in $(seq 1 120); do
    holder=$(k -n "$ns" get lease "$name" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
    [[ $holder == "$name"-* ]] && break
    sleep 1
  done
  check "an operator pod holds the Lease $ns/$name (holder '$holder')" test "${holder#"$name"-}" != "$holder"
}

# apply_samples NAMESPACE: the WorkerJobs of manifests/samples/, moved to NAMESPACE (made restricted, as
# the samples' own namespace is). Sets samples to their names.
apply_samples() {
  local ns=$1 file
  k get namespace "$ns" >/dev/null 2>&1 || k create namespace "$ns" >/dev/null
  k label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
  samples=()
  for file in "$root"/manifests/samples/*.yaml; do
    grep -q '^kind: WorkerJob' "$file" || continue
    sed "s/namespace: campaigns/namespace: $ns/" "$file" | k apply -f - >/dev/null
    samples+=("$(basename "$file" .yaml)")
  done
}

# reconciled NAMESPACE NAME IMAGE: the WorkerJob's Deployment runs IMAGE and its status is of its generation.
reconciled() {
  local ns=$1 name=$2 want=$3 image observed generation
  image=$(k -n "$ns" get deployment "$name" -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)
  observed=$(k -n "$ns" get workerjob "$name" -o jsonpath='{.status.observedGeneration}' 2>/dev/null || true)
  generation=$(k -n "$ns" get workerjob "$name" -o jsonpath='{.metadata.generation}' 2>/dev/null || true)
  [[ $image == "$want" && -n $observed && $observed == "$generation" ]]
}

# samples_reconciled NAMESPACE IMAGE: every sample applied by apply_samples is reconciled within 90 s.
samples_reconciled() {
  local ns=$1 want=$2 name
  for name in "${samples[@]}"; do
    for _ in $(seq 1 90); do
      reconciled "$ns" "$name" "$want" && break
      sleep 1
    done
    check "WorkerJob $ns/$name reconciled: a Deployment of $want, status of its generation" reconciled "$ns" "$name" "$want"
  done
}
