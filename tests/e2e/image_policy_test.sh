#!/usr/bin/env bash
# The sample ValidatingAdmissionPolicy of docs/security.md (manifests/policies/) on the real API server:
# in a namespace labelled worker.dev/image-policy=restricted, a WorkerJob with an image outside the
# allowed prefix is refused with the policy's message; one with an allowed image, or none, is accepted;
# a namespace without the label is not affected. The policy and binding are removed at the end.
set -euo pipefail

ROOT="${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KUBECTL="${KUBECTL:-$ROOT/build/k8s/bin/kubectl}"
export KUBECONFIG="${KUBECONFIG:-$ROOT/.cluster/kubeconfig}"
POLICY="$ROOT/manifests/policies/workerjob-image-registry.yaml"
NS="wo-policy-test-$$-$RANDOM"
OPEN_NS="wo-policy-open-$$-$RANDOM"
failures=0

k() { timeout 60 "$KUBECTL" "$@"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cleanup() {
  k delete -f "$POLICY" --ignore-not-found >/dev/null 2>&1 || true
  k delete namespace "$NS" "$OPEN_NS" --wait=false --ignore-not-found >/dev/null 2>&1 || true
}
trap cleanup EXIT

workerjob() {  # NAME IMAGE (empty: none)
  local image_line=""
  [[ -n "$2" ]] && image_line="  image: $2"
  printf 'apiVersion: worker.dev/v1alpha1\nkind: WorkerJob\nmetadata: {name: %s}\nspec:\n  job: demo.sleep\n  replicas: 0\n%s\n' \
    "$1" "$image_line"
}

k apply --server-side --force-conflicts -f "$ROOT/crds/workerjob.yaml" >/dev/null
k wait --for=condition=Established crd/workerjobs.worker.dev --timeout=60s >/dev/null
k create namespace "$NS" >/dev/null
k label namespace "$NS" worker.dev/image-policy=restricted >/dev/null
k create namespace "$OPEN_NS" >/dev/null
k apply -f "$POLICY" >/dev/null

# A new policy is in force once the API server has compiled it and seen the binding: wait for the first
# refusal (with a deadline), then check each case.
deadline=$((SECONDS + 60))
until ! workerjob probe docker.io/library/busybox:1 | k apply --dry-run=server -n "$NS" -f - >/dev/null 2>&1; do
  [[ $SECONDS -lt $deadline ]] || { echo "the policy did not take effect within 60 s" >&2; exit 1; }
  sleep 0.5
done

if out="$(workerjob outside docker.io/library/busybox:1 | k apply -n "$NS" -f - 2>&1)"; then
  fail "an image outside the prefix was accepted"
elif grep -qF "spec.image must start with registry.example.com/platform/" <<<"$out"; then
  pass "an image outside the prefix is refused: $(grep -oF 'spec.image must start with registry.example.com/platform/' <<<"$out")"
else
  fail "refused without the policy's message: $out"
fi
if out="$(workerjob allowed registry.example.com/platform/worker:1.2.3 | k apply -n "$NS" -f - 2>&1)"; then
  pass "an image under the prefix is accepted"
else
  fail "an image under the prefix was refused: $out"
fi
if out="$(workerjob default "" | k apply -n "$NS" -f - 2>&1)"; then
  pass "no image (the operator's default) is accepted"
else
  fail "a WorkerJob without an image was refused: $out"
fi
if out="$(workerjob elsewhere docker.io/library/busybox:1 | k apply -n "$OPEN_NS" -f - 2>&1)"; then
  pass "a namespace without the label is not affected"
else
  fail "the policy applied in a namespace without the label: $out"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "image policy: all checks passed"
