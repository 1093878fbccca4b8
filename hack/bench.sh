#!/usr/bin/env bash
# make bench: runs the worker and operator benchmarks and writes docs/benchmarks.md and
# docs/benchmarks.json (method, machine, date, figures, each figure beside its raw limit) through
# hack/lib/bench_report.py; the scale run is make bench-scale (hack/bench-scale.sh).
#
# The operator part needs the local cluster (make cluster-up, done by the Makefile target); the worker
# part starts a throwaway Postgres of its own. Environment: BUILD_DIR (build), BENCH_RECORDS (100000),
# BENCH_WORKERJOBS (1000), BENCH_ROUNDS (3, for both; the two sides of every ratio alternate within it),
# BENCH_BASELINE (a commit, e.g. 7febd35: its operator also runs in the operator rounds, alternating with
# this one, so that a speed-up is measured in the same run; built once into BUILD_DIR/bench/baseline-COMMIT).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
cd "$root"
records=${BENCH_RECORDS:-100000}
workerjobs=${BENCH_WORKERJOBS:-1000}
rounds=${BENCH_ROUNDS:-3}
out_dir=$build/bench
mkdir -p "$out_dir"

echo "bench: worker queue, $records records at concurrency 1, 8 and 32, $rounds rounds (takes minutes)"
"$build/bench/worker_bench" --records "$records" --rounds "$rounds" --json "$out_dir/worker.json" >/dev/null
baseline_flags=()
if [[ -n ${BENCH_BASELINE:-} ]]; then
  commit=$(git rev-parse --short=12 "${BENCH_BASELINE}^{commit}")
  src=$out_dir/baseline-$commit
  if [[ ! -x $src/build/bin/worker-operator ]]; then
    echo "bench: building the operator of $commit to compare with (once; ccache makes it minutes)"
    rm -rf "$src" && mkdir -p "$src"
    git archive "$commit" | tar -x -C "$src"
    # --no-warn-unused-cli: a commit from before WO_GIT_COMMIT existed would warn about it.
    cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo --no-warn-unused-cli \
      -DWO_GIT_COMMIT="$commit" >/dev/null
    cmake --build "$src/build" --target worker-operator >/dev/null
  fi
  baseline_flags=(--baseline-operator "$src/build/bin/worker-operator" --baseline-version "$commit")
fi
echo "bench: operator, $workerjobs WorkerJobs created at once, $rounds rounds${BENCH_BASELINE:+, beside the operator of $BENCH_BASELINE}"
"$build/bench/operator_bench" --jobs "$workerjobs" --rounds "$rounds" "${baseline_flags[@]}" \
  --out "$out_dir/operator.json" >/dev/null

python3 hack/lib/bench_report.py --worker "$out_dir/worker.json" --operator "$out_dir/operator.json"
echo "bench: wrote docs/benchmarks.md and docs/benchmarks.json"
