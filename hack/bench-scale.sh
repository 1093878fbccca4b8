#!/usr/bin/env bash
# make bench-scale: the operator at scale with a real working set (tests/bench/operator_scale_bench.cpp).
# Builds kwok (hack/kwok/build.sh), starts it against the local cluster with the node and pod stages of
# its pinned module (nodes become Ready, pods Running and Ready, without containers), registers fake nodes
# that only the bench's pods tolerate, runs the bench, and writes its figures into docs/benchmarks.json
# and docs/benchmarks.md (hack/lib/bench_report.py). kwok and the fake nodes are removed on exit, also on
# failure or Ctrl-C.
#
# Environment: BUILD_DIR (build), BENCH_SCALE_JOBS (1000,5000), BENCH_SCALE_ROUNDS (3: medians; about 45 min
# on two cores),
# BENCH_SCALE_IDLE_SECONDS (60), BENCH_SCALE_DOUBLE_PODS_UP_TO (1000: the sizes whose pods are also doubled
# to measure the cost of a cached pod), KWOK_NODES (2; each holds 10,000 pods).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
cd "$root"
export KUBECONFIG=$root/.cluster/kubeconfig
kubectl=$root/build/k8s/bin/kubectl
jobs=${BENCH_SCALE_JOBS:-1000,5000}
rounds=${BENCH_SCALE_ROUNDS:-3}
idle=${BENCH_SCALE_IDLE_SECONDS:-60}
double_pods_up_to=${BENCH_SCALE_DOUBLE_PODS_UP_TO:-1000}
nodes=${KWOK_NODES:-2}
out_dir=$build/bench
mkdir -p "$out_dir" "$build/kwok"

hack/kwok/build.sh
kwok=$root/build/kwok/bin/kwok
# kwok's own stages, from the module hack/kwok/go.mod pins: node-initialize and a lease heartbeat for the
# nodes; ready, complete and delete for the pods.
stages=$(cd hack/kwok && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
config=$build/kwok/stages.yaml
for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease pod/fast/pod-ready \
  pod/fast/pod-complete pod/fast/pod-delete; do
  echo "---"
  cat "$stages/$stage.yaml"
done >"$config"

kwok_pid=
cleanup() {
  local code=$?
  echo "bench-scale: removing the fake nodes and stopping kwok"
  "$kubectl" delete nodes -l type=kwok --ignore-not-found --wait=false >/dev/null 2>&1 || true
  [[ -n $kwok_pid ]] && kill "$kwok_pid" 2>/dev/null && wait "$kwok_pid" 2>/dev/null
  exit "$code"
}
trap cleanup EXIT INT TERM

echo "bench-scale: starting kwok (log in $build/kwok/kwok.log) with $nodes fake nodes"
"$kwok" --kubeconfig="$KUBECONFIG" --config="$config" --manage-nodes-with-label-selector=type=kwok \
  --cidr=100.64.0.0/16 --node-ip=10.255.0.1 --node-lease-duration-seconds=40 >"$build/kwok/kwok.log" 2>&1 &
kwok_pid=$!
for ((i = 0; i < nodes; i++)); do
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "10000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "10000"}
EOF
done | "$kubectl" apply -f - >/dev/null
if ! "$kubectl" wait --for=condition=Ready nodes -l type=kwok --timeout=60s >/dev/null; then
  echo "bench-scale: kwok's nodes did not become Ready within 60 s; kwok's log:" >&2
  tail -n 20 "$build/kwok/kwok.log" >&2
  exit 1
fi

echo "bench-scale: $jobs WorkerJobs with replicas 1, $rounds round(s) each (takes many minutes)"
"$build/bench/operator_scale_bench" --jobs "$jobs" --rounds "$rounds" --idle-seconds "$idle" \
  --double-pods-up-to "$double_pods_up_to" --out "$out_dir/scale.json" >/dev/null
python3 hack/lib/bench_report.py --scale "$out_dir/scale.json"
echo "bench-scale: figures written to docs/benchmarks.md and docs/benchmarks.json"
