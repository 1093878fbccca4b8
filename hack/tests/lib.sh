# shellcheck shell=bash
# Helpers for the local cluster's acceptance tests (hack/tests/*.sh). Source it.
# Every check prints what it expected and what it saw; waits poll a condition until a deadline.
set -euo pipefail
# shellcheck source=../lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

test_name=$(basename "$0" .sh)
kc() { "$kubectl_bin" --kubeconfig "$cluster_kubeconfig" "$@"; }

fail() {
  echo "FAIL ($test_name): $*" >&2
  exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  [[ $2 == "$3" ]] || fail "$1: expected '$2', saw '$3'"
  echo "ok: $1 = '$3'"
}

# wait_until WHAT TIMEOUT_SECONDS COMMAND...: polls COMMAND until it succeeds; on timeout shows its last output.
wait_until() {
  local what=$1 timeout=$2 deadline output
  shift 2
  deadline=$((SECONDS + timeout))
  until output=$("$@" 2>&1); do
    ((SECONDS < deadline)) || fail "$what: not true within ${timeout} s; last check ('$*') said: $output"
    sleep 0.5
  done
  echo "ok: $what"
}

# Creates a namespace unique to this run and deletes it when the test exits, whatever the outcome.
# Sets `ns`.
use_test_namespace() {
  ns="hacktest-${test_name//_/-}-$(date +%s)-$$"
  kc create namespace "$ns" >/dev/null
  trap 'kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
  echo "namespace: $ns"
}

# The node tests' image, built by hack/images.sh from testdata/Dockerfile.probe (fixture-up.sh does it).
probe_image=localhost/hacktest/probe:dev

# probe_pod NAME MEMORY_LIMIT CPU_LIMIT SHELL_COMMAND: a pod manifest running SHELL_COMMAND in the probe image.
probe_pod() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $1}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $probe_image
    imagePullPolicy: Never
    command: ["bash", "-c", "$4"]
    # Small requests: the pod fits on the one node beside whatever else runs there.
    resources: {requests: {memory: 16Mi, cpu: 10m}, limits: {memory: $2, cpu: $3}}
YAML
}

pod_ready() {
  [[ $(kc -n "$ns" get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]] ||
    { kc -n "$ns" get pod "$1" -o jsonpath='{.status.phase} {.status.conditions[?(@.type=="PodScheduled")].message} {.status.containerStatuses[0].state}'; return 1; }
}
