#!/usr/bin/env bash
# A container that allocates beyond its memory limit is OOMKilled and restarted again and again, while a
# neighbour pod on the same node keeps running with zero restarts.
source "$(dirname "$0")/lib.sh"
use_test_namespace

# `tail /dev/zero` buffers an endless line: memory grows until the 32 MiB limit kills it.
probe_pod hog 32Mi 250m "echo allocating; tail /dev/zero" | kc -n "$ns" apply -f - >/dev/null
probe_pod calm 64Mi 250m "exec sleep infinity" | kc -n "$ns" apply -f - >/dev/null
wait_until "pod calm is Ready" 120 pod_ready calm

oom_killed_twice() {
  local reason restarts
  reason=$(kc -n "$ns" get pod hog -o jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}')
  restarts=$(kc -n "$ns" get pod hog -o jsonpath='{.status.containerStatuses[0].restartCount}')
  [[ $reason == OOMKilled && ${restarts:-0} -ge 2 ]] || { echo "lastState reason '$reason', restartCount ${restarts:-0}"; return 1; }
}
wait_until "pod hog was OOMKilled and restarted at least twice" 180 oom_killed_twice
expect_eq "hog's last exit code" 137 "$(kc -n "$ns" get pod hog -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')"
expect_eq "calm's restart count" 0 "$(kc -n "$ns" get pod calm -o jsonpath='{.status.containerStatuses[0].restartCount}')"
expect_eq "calm's phase" Running "$(kc -n "$ns" get pod calm -o jsonpath='{.status.phase}')"
