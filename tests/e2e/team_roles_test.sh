#!/usr/bin/env bash
# Team self-service (manifests/team_roles.yaml) on the real API server: a user bound to the built-in
# `edit` role in namespace A can create, scale and delete WorkerJobs in A, and not in namespace B; it
# cannot touch the operator's namespace, the CRD or the Leases. A user bound to `view` can read
# WorkerJobs and not change them. Asked with `kubectl auth can-i --as`, as a cluster admin would.
set -euo pipefail

ROOT="${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KUBECTL="${KUBECTL:-$ROOT/build/k8s/bin/kubectl}"
export KUBECONFIG="${KUBECONFIG:-$ROOT/.cluster/kubeconfig}"
ROLES="$ROOT/manifests/team_roles.yaml"
A="wo-team-a-$$-$RANDOM"
B="wo-team-b-$$-$RANDOM"
EDITOR="wo-team-editor-$$"
VIEWER="wo-team-viewer-$$"
OPERATOR_NS=worker-operator-system
failures=0

k() { timeout 60 "$KUBECTL" "$@"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cleanup() {
  k delete namespace "$A" "$B" --wait=false --ignore-not-found >/dev/null 2>&1 || true
}
trap cleanup EXIT

# can USER VERB RESOURCE [-n NS | --all-namespaces]: prints yes or no.
can() {
  local user=$1
  shift
  k auth can-i --as "$user" "$@" 2>/dev/null || true
}
expect() {  # yes|no USER VERB RESOURCE ARGS...
  local want=$1
  shift
  local got
  got=$(can "$@")
  if [[ $got == "$want" ]]; then
    pass "$want: $*"
  else
    fail "expected $want, got '${got:-nothing}': $*"
  fi
}

k apply --server-side --force-conflicts -f "$ROOT/crds/workerjob.yaml" >/dev/null
k wait --for=condition=Established crd/workerjobs.worker.dev --timeout=60s >/dev/null
k apply -f "$ROLES" >/dev/null
k create namespace "$A" >/dev/null
k create namespace "$B" >/dev/null
k create rolebinding team-edit --clusterrole=edit --user="$EDITOR" -n "$A" >/dev/null
k create rolebinding team-view --clusterrole=view --user="$VIEWER" -n "$A" >/dev/null

# The controller manager folds the new rules into edit and view: wait for it (with a deadline).
deadline=$((SECONDS + 60))
until [[ $(can "$EDITOR" create workerjobs.worker.dev -n "$A") == yes && $(can "$VIEWER" list workerjobs.worker.dev -n "$A") == yes ]]; do
  [[ $SECONDS -lt $deadline ]] || { echo "edit and view did not aggregate the WorkerJob roles within 60 s" >&2; exit 1; }
  sleep 0.5
done

for verb in get list watch create update patch delete; do
  expect yes "$EDITOR" "$verb" workerjobs.worker.dev -n "$A"
done
expect yes "$EDITOR" update workerjobs.worker.dev --subresource=scale -n "$A"
expect yes "$EDITOR" patch workerjobs.worker.dev --subresource=scale -n "$A"
expect no "$EDITOR" patch workerjobs.worker.dev --subresource=status -n "$A"
for verb in get create delete; do
  expect no "$EDITOR" "$verb" workerjobs.worker.dev -n "$B"
  expect no "$EDITOR" "$verb" workerjobs.worker.dev -n "$OPERATOR_NS"
done
expect no "$EDITOR" update workerjobs.worker.dev --subresource=scale -n "$B"
expect no "$EDITOR" list workerjobs.worker.dev --all-namespaces
expect no "$EDITOR" get deployments -n "$OPERATOR_NS"
expect no "$EDITOR" get leases.coordination.k8s.io -n "$OPERATOR_NS"
expect no "$EDITOR" update leases.coordination.k8s.io/worker-operator -n "$OPERATOR_NS"
for verb in get update delete; do
  expect no "$EDITOR" "$verb" customresourcedefinitions.apiextensions.k8s.io/workerjobs.worker.dev
done

for verb in get list watch; do
  expect yes "$VIEWER" "$verb" workerjobs.worker.dev -n "$A"
done
for verb in create update patch delete; do
  expect no "$VIEWER" "$verb" workerjobs.worker.dev -n "$A"
done
expect no "$VIEWER" update workerjobs.worker.dev --subresource=scale -n "$A"
expect no "$VIEWER" get workerjobs.worker.dev -n "$B"

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "team roles: all checks passed"
