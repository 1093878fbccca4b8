#!/usr/bin/env bash
# Compares two builds of the worker benchmark (e.g. the merge base and a branch) side by side: runs
# OLD and NEW worker_bench in turn, ROUNDS times each (alternating, so that the load of a shared machine
# falls on both alike), at concurrency 1, 8 and 32 (BENCH_COMPARE_CONCURRENCY) without the latency
# part, and prints the median and range of each figure as a Markdown table.
#
# Usage: hack/bench-compare.sh OLD_WORKER_BENCH NEW_WORKER_BENCH [ROUNDS (5)] [RECORDS (10000)]
# Build the old one from another checkout with the same flags, e.g.
#   git worktree add --detach /tmp/base "$(git merge-base HEAD main)"
#   cmake -S /tmp/base -B /tmp/base/build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build /tmp/base/build --target worker_bench
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 OLD_WORKER_BENCH NEW_WORKER_BENCH [ROUNDS] [RECORDS]" >&2
  exit 2
fi
old=$1
new=$2
rounds=${3:-5}
records=${4:-10000}
# BENCH_COMPARE_CONCURRENCY: the handler concurrencies to measure, e.g. "1" (default "1 8 32").
read -r -a levels <<<"${BENCH_COMPARE_CONCURRENCY:-1 8 32}"
concurrency_flags=()
for c in "${levels[@]}"; do concurrency_flags+=(--concurrency "$c"); done
# A build whose worker_bench has rounds of its own runs one per call: the rounds here alternate the builds.
rounds_flags() {
  if "$1" --help | grep -q -- '--rounds'; then echo --rounds 1; fi
}
read -r -a old_rounds <<<"$(rounds_flags "$old")"
read -r -a new_rounds <<<"$(rounds_flags "$new")"
out=$(mktemp -d /tmp/bench-compare.XXXXXX)
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    bench=$old
    extra=("${old_rounds[@]}")
    if [[ $side == new ]]; then
      bench=$new
      extra=("${new_rounds[@]}")
    fi
    echo "bench-compare: round $round/$rounds, $side" >&2
    "$bench" --records "$records" "${concurrency_flags[@]}" "${extra[@]}" --skip-latency \
      --json "$out/$side-$round.json" >/dev/null
  done
done
python3 - "$out" "$rounds" "$records" <<'PY'
import glob, json, statistics, sys
out, rounds, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
figures = {}  # (side, concurrency, kind) -> [records/s]
def values(figure):
    # A number (worker_bench before --rounds) or a summary with each round's value.
    return figure["samples"] if isinstance(figure, dict) else [figure]
for side in ("old", "new"):
    for path in glob.glob(f"{out}/{side}-*.json"):
        for t in json.load(open(path))["throughput"]:
            figures.setdefault((side, t["concurrency"], "framework"), []).extend(values(t["framework_per_s"]))
            figures.setdefault((side, t["concurrency"], "raw"), []).extend(values(t["raw_per_s"]))
def cell(values):
    return f"{statistics.median(values):.0f} ({min(values):.0f} to {max(values):.0f})"
print(f"{rounds} rounds, {records} records per figure; median (range), records/s\n")
print("| concurrency | old framework | new framework | new / old | old raw limit | new raw limit |")
print("|---|---|---|---|---|---|")
for c in sorted({k[1] for k in figures}):
    of, nf = figures[("old", c, "framework")], figures[("new", c, "framework")]
    ratio = statistics.median(nf) / statistics.median(of)
    print(f"| {c} | {cell(of)} | {cell(nf)} | {100 * ratio:.0f} % | {cell(figures[('old', c, 'raw')])} | "
          f"{cell(figures[('new', c, 'raw')])} |")
PY
echo "bench-compare: raw results in $out" >&2
