#!/usr/bin/env bash
# A CPU limit becomes the container's CFS quota (cgroup v1: cpu.cfs_quota_us over cpu.cfs_period_us).
source "$(dirname "$0")/lib.sh"
use_test_namespace

probe_pod limited 64Mi 250m "exec sleep infinity" | kc -n "$ns" apply -f - >/dev/null
wait_until "pod limited is Ready" 120 pod_ready limited
expect_eq "cpu.cfs_period_us" 100000 "$(kc -n "$ns" exec limited -- cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
expect_eq "cpu.cfs_quota_us for a 250m limit" 25000 "$(kc -n "$ns" exec limited -- cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
