#!/usr/bin/env python3
"""Writes docs/benchmarks.json and docs/benchmarks.md from the benchmarks' JSON.

Used by make bench (--worker, --operator) and make bench-scale (--scale). Each part given replaces that
part of docs/benchmarks.json, stamped with the date and the machine it was measured on; the parts not given
are kept as they were, so the scale run and the quick benchmarks can be run on different days. The
Markdown is rendered from the JSON alone, and the hand-written sections ("Against the targets", and
"Worker framework comparisons" for hack/bench-compare.sh runs) are kept below it.
"""
import argparse
import datetime
import json
import os
import subprocess

JSON_PATH = "docs/benchmarks.json"
MD_PATH = "docs/benchmarks.md"
# Hand-written sections, kept below the rendered ones from the first of these headings on.
KEPT_MARKERS = ("\n## Against the targets", "\n## Worker framework comparisons")


def machine():
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name:")), "?")
    mem_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024),
            "load_average": os.getloadavg()[0]}


def fig(f, digits=1):
    """A figure over rounds: median (min to max); a bare number as itself."""
    if isinstance(f, dict):
        return f"{f['median']:.{digits}f} ({f['min']:.{digits}f} to {f['max']:.{digits}f})"
    return f"{f:.{digits}f}"


def stamp(part):
    m = part["machine"]
    own = part.get("load_average")  # the bench's own reading: {"start": "1.05 0.9 0.8", "end": ...}
    if isinstance(own, dict) and "start" in own and "end" in own:
        start, end = own["start"].split()[0], own["end"].split()[0]
        load = f", load average {start} at the start and {end} at the end of the run"
    elif "load_average" in m:
        load = f", load average {m['load_average']:.1f} at the end of the run"
    else:
        load = ""
    return f"Measured {part['date']} on {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB{load}."


def worker_section(w):
    lines = ["## Worker: the Postgres queue", "", stamp(w), ""]
    lines += [w.get("method", f"Method: {w['records']} no-op records per figure; see worker/bench/worker_bench.cpp."), ""]
    lines += ["| concurrency | framework (records/s) | raw limit (records/s) | framework / raw |", "|---|---|---|---|"]
    for t in w["throughput"]:
        lines.append(f"| {t['concurrency']} | {fig(t['framework_per_s'], 0)} | {fig(t['raw_per_s'], 0)} | "
                     f"{fig(t['ratio'], 2)} |")
    lines += ["", "| wake-up | samples | p50 (ms) | p99 (ms) | max (ms) |", "|---|---|---|---|---|"]
    for l in w["latency"]:
        wake = "LISTEN/NOTIFY (polling every 1 s as fallback)" if l["notify"] else "polling only, every 100 ms"
        lines.append(f"| {wake} | {l['samples']} | {fig(l['p50_ms'], 2)} | {fig(l['p99_ms'], 2)} | "
                     f"{fig(l['max_ms'], 2)} |")
    floor = w.get("latency_floor")
    if floor:
        lines.append(f"| floor: a bare NOTIFY read, then one claim statement answered (no framework) | "
                     f"{floor['samples']} | {fig(floor['claimed_p50_ms'], 2)} | {fig(floor['claimed_p99_ms'], 2)} | |")
    return lines + [""]


def operator_section(op):
    base = op.get("baseline")
    lines = [
        "## Operator", "", stamp(op), "",
        f"Method: {op['jobs']} WorkerJobs (replicas 0) created at once by {op['concurrency']} client threads in a "
        "fresh namespace of the local cluster, the operator running as a process with "
        f"--max-concurrent-reconciles={op['concurrency']}. Converged = every Deployment exists and every status "
        "has caught up with its generation, both seen on watches of the benchmark's own. Latency: from the "
        "create's response to the Deployment's ADDED event. The raw limit: the same WorkerJob creates, then the "
        "two writes the operator makes for each (Deployment apply, status write) issued directly by a tight "
        "client with the same number of threads, under the same watches of the benchmark's own. Ready = every "
        "WorkerJob's Ready condition is True, which waits for the Deployment controller. API requests: all the "
        "operator made until every WorkerJob was Ready and it had nothing left to do, and of them those made "
        "until it had converged (read from its metrics at that moment). Latencies: the mean time to the response "
        "headers of the operator's applies and patches until it had converged, as its client measured them, beside "
        "the raw client's, measured by the same client code; and the API server's own time for the same requests "
        "(apiserver_request_duration_seconds, read before and at the end of each side). Each figure is the median "
        f"of {op.get('rounds', 1)} rounds with the min "
        "and max in brackets; operator and raw rounds alternate within the run (the ratio is taken per round). A "
        "wait that times out fails the benchmark.", "",
    ]
    if base:
        lines += [
            f"Baseline: the operator built from commit {base.get('version') or base['binary']} ran in the same rounds "
            "(`BENCH_BASELINE=COMMIT make bench`); the order of the three sides rotates from round to round, and "
            "baseline / operator is taken within each round.", ""]
    header = "| figure | operator | raw limit | operator / raw |" + (" baseline | baseline / operator |" if base else "")
    lines += [header, "|---|---|---|---|" + ("---|---|" if base else "")]

    def row(label, key, raw="", ratio="", base_key=None, digits=1):
        cells = [label, fig(op[key], digits), raw, ratio]
        if base:
            cells.append(fig(base[base_key], digits) if base_key in base else "")
            cells.append(fig(op["baseline_over_operator"], 2) if base_key == "seconds_to_converge" else "")
        return "| " + " | ".join(cells) + " |"

    lines += [
        row("time to converge (s)", "operator_seconds_to_converge", fig(op["raw_seconds"]), fig(op["ratio_to_raw"], 2),
            "seconds_to_converge"),
        *([row("time until every WorkerJob is Ready (s)", "operator_seconds_to_ready", base_key="seconds_to_ready")]
          if "operator_seconds_to_ready" in op else []),
        row("API requests (the operator's only)", "operator_api_requests", f"{op['raw_api_requests']:.0f}", "",
            "api_requests", 0),
        *([row("of which until converged", "operator_api_requests_until_converged",
               f"{op['raw_api_requests']:.0f}", "", "api_requests_until_converged", 0)]
          if "operator_api_requests_until_converged" in op else []),
        *([row("mean apply latency until converged (ms)", "operator_apply_ms", fig(op["raw_apply_ms"]), "",
               "apply_ms"),
           row("mean status write (patch) latency until converged (ms)", "operator_patch_ms",
               fig(op["raw_patch_ms"]), "", "patch_ms")]
          if "operator_apply_ms" in op else []),
        *([row("the API server's own mean apply time (ms)", "operator_server_apply_ms",
               fig(op["raw_server_apply_ms"]), "", "server_apply_ms"),
           row("the API server's own mean status patch time (ms)", "operator_server_patch_ms",
               fig(op["raw_server_patch_ms"]), "", "server_patch_ms")]
          if "operator_server_apply_ms" in op else []),
        row("create-to-Deployment p50 (ms)", "create_to_deployment_p50_ms", base_key="create_to_deployment_p50_ms",
            digits=0),
        row("create-to-Deployment p99 (ms)", "create_to_deployment_p99_ms", base_key="create_to_deployment_p99_ms",
            digits=0),
        row("operator peak RSS (MiB)", "operator_peak_rss_mib", base_key="peak_rss_mib"),
        "",
    ]
    return lines


SCALE_ROWS = [
    ("seconds_to_converge", "time until every WorkerJob is Ready (s)", 1),
    ("create_to_deployment_p50_ms", "create-to-Deployment p50 (ms)", 0),
    ("create_to_deployment_p99_ms", "create-to-Deployment p99 (ms)", 0),
    ("requests_per_workerjob", "API requests per WorkerJob until Ready", 2),
    ("burst_peak_rss_mib", "peak RSS while taking the burst (MiB)", 1),
    ("restart_peak_rss_mib", "peak RSS of a restarted operator, syncing (MiB)", 1),
    ("steady_rss_mib", "steady RSS, idle (MiB)", 1),
    ("idle_cpu_percent", "idle CPU over the idle window (% of a core)", 2),
    ("idle_requests", "API requests over the idle window", 0),
    ("steady_rss_mib_twice_the_pods", "steady RSS with two pods per WorkerJob (MiB)", 1),
    ("rss_per_1000_pods_mib", "RSS per 1,000 more cached pods (MiB)", 2),
]


def scale_section(sc):
    sizes = sc["sizes"]
    lines = [
        "## Operator at scale (make bench-scale)", "", stamp(sc), "",
        "Method (tests/bench/operator_scale_bench.cpp, hack/bench-scale.sh): WorkerJobs with replicas 1 and a "
        "config are created at once by "
        f"{sc['concurrency']} client threads; their pods run on kwok's fake nodes (kwok built from its Go module), "
        "so the operator's WorkerJob, Deployment, ConfigMap, ReplicaSet and Pod caches hold the real working set. "
        "The time to Ready includes the controller manager, the scheduler and kwok, not the operator alone. Then a "
        f"fresh operator is started on the converged namespace and left alone for {sc['idle_seconds']} s (steady "
        "RSS, idle CPU, requests); then every WorkerJob is scaled to 2 replicas and another fresh operator "
        "measured the same way: the difference in steady RSS, per 1,000 added pods, is the cost of a cached pod "
        "(its ReplicaSet's status changes too). Each figure is the median of the rounds with the min and max in "
        "brackets; a wait that times out fails the run.", "",
        "| figure | " + " | ".join(f"{s['workerjobs']} WorkerJobs ({s['rounds']} round{'s' if s['rounds'] != 1 else ''})"
                                  for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for key, label, digits in SCALE_ROWS:
        lines.append(f"| {label} | " + " | ".join(fig(s[key], digits) if key in s else "" for s in sizes) + " |")
    last = sizes[-1].get("requests_by_verb_last_round", {})
    if last:
        verbs = ", ".join(f"{v} {n:.0f}" for v, n in last.items() if v != "total")
        lines += ["", f"Requests of the {sizes[-1]['workerjobs']}-WorkerJob burst by verb (last round): {verbs}."]
    return lines + [""]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help="worker_bench --json output")
    p.add_argument("--operator", help="operator_bench --out output")
    p.add_argument("--scale", help="operator_scale_bench --out output")
    args = p.parse_args()
    try:
        report = json.load(open(JSON_PATH))
    except FileNotFoundError:
        report = {}
    # An older report stamped the whole file once; keep its stamp on the parts it measured.
    old_stamp = {"date": report.pop("date", "?"), "machine": report.pop("machine", None)}
    today = {"date": datetime.date.today().isoformat(), "machine": machine()}
    for name in ("worker", "operator", "scale"):
        path = getattr(args, name)
        if path:
            report[name] = {**json.load(open(path)), **today}
        elif name in report and "date" not in report[name]:
            report[name].update(old_stamp)
    json.dump(report, open(JSON_PATH, "w"), indent=2)

    lines = ["# Benchmarks", "",
             "Written by `make bench` (worker and operator) and `make bench-scale` (the operator at scale) from "
             "`benchmarks.json`; each part says when and where it was measured. The machine is shared: compare "
             "figures measured in the same run, read the ranges, and treat differences inside them as noise.", ""]
    for name, render in (("worker", worker_section), ("operator", operator_section), ("scale", scale_section)):
        if name in report and report[name].get("machine"):
            lines += render(report[name])
    try:
        previous = open(MD_PATH).read()
    except FileNotFoundError:
        previous = ""
    starts = [previous.index(m) for m in KEPT_MARKERS if m in previous]
    kept = previous[min(starts):] if starts else ""
    open(MD_PATH, "w").write("\n".join(lines) + kept)


if __name__ == "__main__":
    main()
