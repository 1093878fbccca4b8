#!/usr/bin/env bash
# The worker's status page on a real pod: for the demo's WorkerJob (make demo: campaigns-reconciler in
# namespace campaigns), finds a Ready worker pod, port-forwards its HTTP port, loads / in headless
# Chromium (--dump-dom) and compares the counts by state and the lag with `worker queue stats -o json`
# run in the same Deployment; also checks that plain `worker queue stats` prints a table.
#
# The demo's queue is busy (it enqueues records every second), so the page is compared with a reading
# taken just before and one just after it: each count must lie between the two, give or take SLACK
# records (default 20), and the lag within LAG_SLACK seconds (default 5). Exits 77 (skipped) when the
# WorkerJob is not there (run make demo first) or chromium is not installed (hack/setup.sh). The demo's
# pods must run a worker image that has the status page (after hack/images.sh, restart them with
# kubectl -n campaigns rollout restart deploy/campaigns-reconciler): this test only reads.
#
# UserStory.TheStatusPageOfARealPodShowsWhatQueueStatsSays (make test) runs it on a WorkerJob of its own,
# with NAMESPACE and WORKERJOB set.
#
# Environment: KUBECONFIG (default .cluster/kubeconfig), KUBECTL (default build/k8s/bin/kubectl),
# NAMESPACE (campaigns), WORKERJOB (campaigns-reconciler), LOCAL_PORT (0: a free one), SLACK, LAG_SLACK.
set -euo pipefail

ROOT="${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KUBECTL="${KUBECTL:-$ROOT/build/k8s/bin/kubectl}"
export KUBECONFIG="${KUBECONFIG:-$ROOT/.cluster/kubeconfig}"
NAMESPACE="${NAMESPACE:-campaigns}"
WORKERJOB="${WORKERJOB:-campaigns-reconciler}"
SLACK="${SLACK:-20}"
LAG_SLACK="${LAG_SLACK:-5}"
failures=0
work="$(mktemp -d)"
forward_pid=""

k() { timeout 60 "$KUBECTL" -n "$NAMESPACE" "$@"; }
pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
skip() {
  echo "SKIP: $*"
  exit 77
}

cleanup() {
  if [[ -n "$forward_pid" ]]; then kill "$forward_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

command -v chromium >/dev/null || skip "chromium is not installed (hack/setup.sh installs it)"
command -v jq >/dev/null || { echo "jq is not installed (hack/setup.sh installs it)" >&2; exit 1; }
k get workerjob "$WORKERJOB" >/dev/null 2>&1 || skip "no WorkerJob $NAMESPACE/$WORKERJOB (make demo creates it)"

# A Ready pod of the WorkerJob's Deployment (same name), and its port named http.
selector="app.kubernetes.io/instance=$WORKERJOB,app.kubernetes.io/name=worker"
ready_pod() {
  k get pods -l "$selector" -o json |
    jq -r '[.items[] | select(.metadata.deletionTimestamp == null)
             | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))][0].metadata.name // empty'
}
pod=""
deadline=$((SECONDS + 120))
until pod="$(ready_pod)" && [[ -n "$pod" ]]; do
  [[ $SECONDS -lt $deadline ]] || { echo "no Ready pod of $NAMESPACE/$WORKERJOB within 120 s" >&2; k get pods -l "$selector" >&2; exit 1; }
  sleep 2
done
http_port="$(k get pod "$pod" -o jsonpath='{.spec.containers[0].ports[?(@.name=="http")].containerPort}')"
[[ -n "$http_port" ]] || { echo "pod $pod has no port named http" >&2; exit 1; }
echo "pod $pod, port $http_port"

# Port-forward in the background; its first line names the local port.
"$KUBECTL" -n "$NAMESPACE" port-forward "pod/$pod" "${LOCAL_PORT:-0}:$http_port" >"$work/forward.log" 2>&1 &
forward_pid=$!
local_port=""
deadline=$((SECONDS + 30))
until local_port="$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/forward.log" | head -1)" &&
  [[ -n "$local_port" ]]; do
  kill -0 "$forward_pid" 2>/dev/null || { echo "port-forward ended: $(cat "$work/forward.log")" >&2; exit 1; }
  [[ $SECONDS -lt $deadline ]] || { echo "port-forward did not start within 30 s" >&2; exit 1; }
  sleep 0.5
done
url="http://127.0.0.1:$local_port/"

stats_json() { k exec "deploy/$WORKERJOB" -- worker queue stats -o json; }

stats_json >"$work/before.json"
timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --dump-dom "$url" \
  >"$work/page.html" 2>"$work/chromium.log" || { echo "chromium failed: $(tail -5 "$work/chromium.log")" >&2; exit 1; }
stats_json >"$work/after.json"
grep -q 'data-state=' "$work/page.html" || { echo "the page shows no counts:" >&2; head -c 2000 "$work/page.html" >&2; exit 1; }

# Counts by state: between the readings before and after, give or take SLACK.
for state in $(jq -r '.states | keys[]' "$work/before.json"); do
  shown="$(grep -o "data-state=\"$state\"[^>]*>[0-9]*<" "$work/page.html" | sed 's/.*>\([0-9]*\)</\1/')"
  low="$(jq --arg s "$state" '.states[$s]' "$work/before.json" "$work/after.json" | sort -n | head -1)"
  high="$(jq --arg s "$state" '.states[$s]' "$work/before.json" "$work/after.json" | sort -n | tail -1)"
  if [[ -z "$shown" ]]; then
    fail "$state: not on the page"
  elif ((shown >= low - SLACK && shown <= high + SLACK)); then
    pass "$state: page $shown, queue stats $low..$high"
  else
    fail "$state: page $shown, queue stats $low..$high (slack $SLACK)"
  fi
done

# The lag, as both print it (seconds, three decimals).
shown_lag="$(grep -o 'data-lag-seconds="[0-9.]*"' "$work/page.html" | sed 's/.*="\([0-9.]*\)"/\1/')"
cli_lag="$(jq '.lag_seconds' "$work/after.json")"
if [[ -n "$shown_lag" ]] && jq -en --argjson a "$shown_lag" --argjson b "$cli_lag" --argjson s "$LAG_SLACK" \
  '(($a - $b) | fabs) <= $s' >/dev/null; then
  pass "lag: page ${shown_lag}s, queue stats ${cli_lag}s"
else
  fail "lag: page '${shown_lag}'s, queue stats ${cli_lag}s (slack ${LAG_SLACK}s)"
fi

# Plain `worker queue stats`: a table with a row per state and the lag.
if table="$(k exec "deploy/$WORKERJOB" -- worker queue stats)" &&
  grep -Eq '^queued +(>= )?[0-9]+$' <<<"$table" && grep -Eq '^completed +(>= )?[0-9]+$' <<<"$table" &&
  grep -Eq '^lag +[0-9.]+s$' <<<"$table"; then
  pass "worker queue stats prints a table"
else
  fail "worker queue stats did not print the table: ${table:-}"
fi

if ((failures)); then
  echo "$failures check(s) failed; the page's numbers:" >&2
  grep -Eo 'data-(state|lag-seconds)="[^"]*"[^<]*' "$work/page.html" >&2 || true
  exit 1
fi
echo "status page: all checks passed"
