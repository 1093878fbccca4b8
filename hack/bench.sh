#!/usr/bin/env bash
# make bench: runs the worker and operator benchmarks and writes docs/benchmarks.md and
# docs/benchmarks.json (method, machine, date, figures, each figure beside its raw limit).
#
# The operator part needs the local cluster (make cluster-up, done by the Makefile target); the worker
# part starts a throwaway Postgres of its own. Environment: BUILD_DIR (build), BENCH_RECORDS (100000),
# BENCH_WORKERJOBS (1000), BENCH_ROUNDS (3, for the operator).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
cd "$root"
records=${BENCH_RECORDS:-100000}
workerjobs=${BENCH_WORKERJOBS:-1000}
rounds=${BENCH_ROUNDS:-3}
out_dir=$build/bench
mkdir -p "$out_dir"

echo "bench: worker queue, $records records at concurrency 1, 8 and 32 (takes minutes)"
"$build/bench/worker_bench" --records "$records" --output "$out_dir/worker.md" --json "$out_dir/worker.json" >/dev/null
echo "bench: operator, $workerjobs WorkerJobs created at once, $rounds rounds"
"$build/bench/operator_bench" --jobs "$workerjobs" --rounds "$rounds" --out "$out_dir/operator.json" >/dev/null

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
mem=$(free -g | awk '/^Mem:/ {print $2}')
date=$(date -u +%Y-%m-%d)
python3 - "$out_dir" "$date" "$cpu" "$(nproc)" "$mem" <<'PY'
import json, sys
out_dir, date, cpu, cores, mem = sys.argv[1:]
worker = json.load(open(f"{out_dir}/worker.json"))
op = json.load(open(f"{out_dir}/operator.json"))
machine = {"cpu": cpu, "cores": int(cores), "memory_gib": int(mem)}
json.dump({"date": date, "machine": machine, "worker": worker, "operator": op},
          open("docs/benchmarks.json", "w"), indent=2)
lines = [
    "# Benchmarks", "",
    f"Measured {date} by `make bench` on {cores} cores ({cpu}), {mem} GiB; figures also in `benchmarks.json`.",
    "Single runs on a shared development machine: read differences under about 30 % as noise.", "",
    "## Worker: the Postgres queue", "",
    f"Method: a no-op handler burns down {worker['records']} records in a throwaway PostgreSQL 15 (fsync off), "
    "for each handler concurrency; the raw limit is the same claim and complete statements issued by a tight "
    "loop with no framework (batch = concurrency). Latency: records enqueued one at a time, each committed, "
    "measured from just before COMMIT to the handler's first line.", "",
    "| concurrency | framework (records/s) | raw limit (records/s) | framework / raw |", "|---|---|---|---|",
]
for t in worker["throughput"]:
    lines.append(f"| {t['concurrency']} | {t['framework_per_s']:.0f} | {t['raw_per_s']:.0f} | {100*t['ratio']:.0f} % |")
lines += ["", "| wake-up | samples | p50 (ms) | p99 (ms) | max (ms) |", "|---|---|---|---|---|"]
for l in worker["latency"]:
    wake = "LISTEN/NOTIFY (polling every 1 s as fallback)" if l["notify"] else "polling only, every 100 ms"
    lines.append(f"| {wake} | {l['samples']} | {l['p50_ms']:.2f} | {l['p99_ms']:.2f} | {l['max_ms']:.2f} |")
def fig(f, digits=1):
    """median (min-max) of a figure over the rounds"""
    return f"{f['median']:.{digits}f} ({f['min']:.{digits}f}–{f['max']:.{digits}f})"
lines += [
    "", "## Operator", "",
    f"Method: {op['jobs']} WorkerJobs (replicas 0) created at once by {op['concurrency']} client threads in a fresh "
    "namespace of the local cluster, the operator running as a process with "
    f"--max-concurrent-reconciles={op['concurrency']}. Converged = every Deployment exists and every status has "
    "caught up with its generation, both seen on watches of the benchmark's own. Latency: from the create's "
    "response to the Deployment's ADDED event. The raw limit: the same WorkerJob creates, then the two writes the "
    "operator makes for each (Deployment apply, status write) issued directly by a tight client with the same "
    f"number of threads. Each figure is the median of {op['rounds']} rounds with the min and max in brackets; "
    "operator and raw rounds alternate within the run (the ratio is taken per round). A wait that times out "
    "fails the benchmark.", "",
    "| figure | operator | raw limit | operator / raw |", "|---|---|---|---|",
    f"| time to converge (s) | {fig(op['operator_seconds_to_converge'])} | {fig(op['raw_seconds'])} | {fig(op['ratio_to_raw'], 2)} |",
    f"| API requests | {fig(op['operator_api_requests'], 0)} (operator only) | {op['raw_api_requests']:.0f} | |",
    f"| create-to-Deployment p50 (ms) | {fig(op['create_to_deployment_p50_ms'], 0)} | | |",
    f"| create-to-Deployment p99 (ms) | {fig(op['create_to_deployment_p99_ms'], 0)} | | |",
    f"| operator peak RSS (MiB) | {fig(op['operator_peak_rss_mib'])} | | |",
    "",
]
# Side-by-side comparisons of two builds (hack/bench-compare.sh) are written by hand below this heading:
# keep them.
marker = "\n## Worker framework comparisons"
try:
    previous = open("docs/benchmarks.md").read()
except FileNotFoundError:
    previous = ""
kept = previous[previous.index(marker):] if marker in previous else ""
open("docs/benchmarks.md", "w").write("\n".join(lines) + kept)
PY
echo "bench: wrote docs/benchmarks.md and docs/benchmarks.json"
