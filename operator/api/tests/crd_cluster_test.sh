#!/usr/bin/env bash
# The WorkerJob CRD against a real API server (ctest label e2e, fixture "cluster"):
#   - crds/workerjob.yaml registers and becomes Established;
#   - kubectl explain workerjob.spec.resources reads well;
#   - every sample in manifests/samples/ applies, and kubectl get wj shows JOB READY STATUS AGE;
#   - invalid WorkerJobs are rejected with a message that says what to fix;
#   - spec.job is immutable; kubectl scale works through the scale subresource.
# Works in a namespace of its own, deleted at the end. The CRD stays registered (the operator and
# the other suites need it; applying it is idempotent).
set -euo pipefail

ROOT="${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
KUBECTL="${KUBECTL:-$ROOT/build/k8s/bin/kubectl}"
export KUBECONFIG="${KUBECONFIG:-$ROOT/.cluster/kubeconfig}"
NS="wo-api-test-$$-$RANDOM"
failures=0

k() { timeout 60 "$KUBECTL" "$@"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cleanup() { k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true; }
trap cleanup EXIT

k version >/dev/null || { echo "no API server reachable with KUBECONFIG=$KUBECONFIG" >&2; exit 1; }

# --- the CRD ----------------------------------------------------------------------------------
k apply --server-side --force-conflicts -f "$ROOT/crds/workerjob.yaml" >/dev/null
k wait --for=condition=Established crd/workerjobs.worker.dev --timeout=30s >/dev/null && pass "CRD established"
# Discovery and the OpenAPI document lag Established a little: wait (with a deadline) until explain works.
deadline=$((SECONDS + 60))
until k explain workerjob.spec.resources >/dev/null 2>&1; do
  [[ $SECONDS -lt $deadline ]] || { echo "workerjob not served by discovery/OpenAPI within 60 s" >&2; exit 1; }
  sleep 0.5
done

explain="$(k explain workerjob.spec.resources | tr -s " \n" "  ")"  # unwrap the text
for want in "Compute resources of the worker container" "limits" "requests" "Each limit must be at least its request"; do
  if grep -qF "$want" <<<"$explain"; then pass "explain spec.resources mentions '$want'"; else fail "explain spec.resources lacks '$want'"; fi
done
explain="$(k explain workerjob.spec --recursive)"
for field in job image replicas paused resources args env envFrom config template terminationGracePeriodSeconds; do
  grep -qw "$field" <<<"$explain" || fail "explain --recursive lacks $field"
done

k create namespace "$NS" >/dev/null
# Discovery lags Established a little: wait (with a deadline) until WorkerJobs are served.
deadline=$((SECONDS + 60))
until k get workerjobs -n "$NS" >/dev/null 2>&1; do
  [[ $SECONDS -lt $deadline ]] || { echo "workerjobs not served within 60 s" >&2; exit 1; }
  sleep 1
done

# --- the samples ------------------------------------------------------------------------------
# Each WorkerJob sample, moved into the test namespace.
samples=0
for f in "$ROOT"/manifests/samples/*.yaml; do
  grep -q '^kind: WorkerJob' "$f" || continue
  samples=$((samples + 1))
  if out="$(sed "s/^  namespace: .*/  namespace: $NS/" "$f" | k apply -f - 2>&1)"; then
    pass "sample $(basename "$f") applies"
  else
    fail "sample $(basename "$f"): $out"
  fi
done
[[ $samples -ge 3 ]] || fail "expected at least 3 WorkerJob samples, found $samples"
header="$(k get wj -n "$NS" | awk 'NR == 1')"
if [[ "$header" =~ ^NAME\ +JOB\ +READY\ +STATUS\ +AGE ]]; then pass "kubectl get wj columns: $header"; else fail "kubectl get wj header: $header"; fi
wide="$(k get workerjobs -n "$NS" -o wide | awk 'NR == 1')"
[[ "$wide" == *PAUSED*IMAGE* ]] && pass "-o wide adds PAUSED and IMAGE" || fail "-o wide header: $wide"
defaults="$(k get wj -n "$NS" campaigns-reconciler \
  -o jsonpath='{.spec.replicas} {.spec.paused} {.spec.template.terminationGracePeriodSeconds}')"
[[ "$defaults" == "1 false 30" ]] && pass "defaults applied (replicas 1, paused false, grace 30)" ||
  fail "defaults: got '$defaults', want '1 false 30'"

# --- rejections -------------------------------------------------------------------------------
# expect_reject NAME SPEC_YAML FRAGMENT: a WorkerJob with this spec is refused, naming the fix.
expect_reject() {
  local name="$1" spec="$2" fragment="$3" out
  if out="$(printf 'apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: bad, namespace: %s}\nspec:\n%b' \
    "$NS" "$spec" | k apply --dry-run=server -f - 2>&1)"; then
    fail "$name: accepted, want rejection with '$fragment'"
  elif grep -qF -- "$fragment" <<<"$out"; then
    pass "$name rejected: $(grep -F -- "$fragment" <<<"$out" | head -1 | cut -c1-160)"
  else
    fail "$name: rejected without '$fragment': $out"
  fi
}
expect_reject "bad job name" '  job: Campaigns_Sync\n' "spec.job must be dot-separated lowercase DNS labels"
expect_reject "memory limit below request" \
  '  job: a.b\n  resources:\n    requests: {memory: 1Gi}\n    limits: {memory: 1G}\n' \
  "limits.memory (1G) must be at least requests.memory (1Gi)"
expect_reject "cpu limit below request" \
  '  job: a.b\n  resources:\n    requests: {cpu: "2"}\n    limits: {cpu: 1500m}\n' "limits.cpu (1500m) must be at least requests.cpu (2)"
expect_reject "other limit below request" \
  '  job: a.b\n  resources:\n    requests: {ephemeral-storage: 2Gi}\n    limits: {ephemeral-storage: 1Gi}\n' \
  "each limit must be at least its request"
expect_reject "malformed quantity" '  job: a.b\n  resources:\n    requests: {memory: 1Mb}\n' "must be a non-negative quantity"
expect_reject "absurd quantity" '  job: a.b\n  resources:\n    limits: {memory: 99999999999Ei}\n' "is too large"
expect_reject "too many replicas" '  job: a.b\n  replicas: 101\n' "less than or equal to 100"
expect_reject "--job in args" '  job: a.b\n  args: [--job=other]\n' "must not set --job"
expect_reject "unknown field" '  job: a.b\n  replica: 2\n' 'unknown field "spec.replica"'
expect_reject "reserved pod label" '  job: a.b\n  template: {labels: {app.kubernetes.io/instance: x}}\n' "set by the operator"
expect_reject "AppArmor annotation" \
  '  job: a.b\n  template: {annotations: {container.apparmor.security.beta.kubernetes.io/worker: unconfined}}\n' \
  "AppArmor and seccomp annotations would relax the pods' security"
expect_reject "seccomp annotation" \
  '  job: a.b\n  template: {annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}}\n' \
  "AppArmor and seccomp annotations would relax the pods' security"
expect_reject "env value and valueFrom" \
  '  job: a.b\n  env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n' "not both"
out="$(printf 'apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: %s, namespace: %s}\nspec: {job: a}\n' \
  "$(printf 'a%.0s' {1..64})" "$NS" | k apply --dry-run=server -f - 2>&1)" && fail "64-character name accepted" ||
  { grep -qF "metadata.name must be at most 63 characters" <<<"$out" && pass "64-character name rejected" || fail "long name: $out"; }

# --- transitions and subresources -------------------------------------------------------------
if out="$(k -n "$NS" patch wj campaigns-reconciler --type merge -p '{"spec":{"job":"campaigns.other"}}' 2>&1)"; then
  fail "spec.job changed"
else
  grep -qF "spec.job is immutable" <<<"$out" && pass "spec.job is immutable" || fail "immutable: $out"
fi
k -n "$NS" scale wj campaigns-reconciler --replicas=2 >/dev/null
[[ "$(k -n "$NS" get wj campaigns-reconciler -o jsonpath='{.spec.replicas}')" == 2 ]] &&
  pass "kubectl scale sets spec.replicas" || fail "kubectl scale did not set spec.replicas"

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all CRD checks passed"
