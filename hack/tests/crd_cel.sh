#!/usr/bin/env bash
# A CRD becomes Established, its custom resources can be created, and a CEL rule in its schema rejects a
# bad one with the rule's message.
source "$(dirname "$0")/lib.sh"
use_test_namespace
crd=widgets.hacktest.worker.dev
trap 'kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; kc delete crd "$crd" --wait=false >/dev/null 2>&1 || true' EXIT

kc apply -f "$(dirname "$0")/testdata/widget-crd.yaml" >/dev/null
wait_until "CRD $crd is Established" 60 kc wait --for=condition=Established --timeout=5s "crd/$crd"
# Discovery lags Established by a moment: wait until the resource is served.
# Fully qualified: other tests may have a CRD with the same plural in another group.
wait_until "widgets are served" 60 kc -n "$ns" get "$crd"

widget() {
  printf 'apiVersion: hacktest.worker.dev/v1\nkind: Widget\nmetadata: {name: %s}\nspec: {minReplicas: %s, maxReplicas: %s}\n' "$@"
}
widget good 1 3 | kc -n "$ns" create -f - >/dev/null || fail "creating a valid Widget was refused"
expect_eq "stored Widget's maxReplicas" 3 "$(kc -n "$ns" get "$crd" good -o jsonpath='{.spec.maxReplicas}')"

if output=$(widget bad 5 2 | kc -n "$ns" create -f - 2>&1); then
  fail "a Widget with minReplicas 5 > maxReplicas 2: expected the CEL rule to reject it, saw it accepted ($output)"
fi
[[ $output == *"minReplicas must not exceed maxReplicas"* ]] ||
  fail "rejecting the bad Widget: expected the CEL rule's message, saw: $output"
echo "ok: the CEL rule rejected the bad Widget: $output"
