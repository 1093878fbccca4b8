#!/usr/bin/env bash
# The controller manager turns a Deployment into a ReplicaSet and Pods, and garbage-collects them when the
# Deployment is deleted. Pods may stay Pending (no node needed); their image is never pulled.
source "$(dirname "$0")/lib.sh"
use_test_namespace

kc -n "$ns" apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: gc-probe}
spec:
  replicas: 2
  selector: {matchLabels: {app: gc-probe}}
  template:
    metadata: {labels: {app: gc-probe}}
    spec:
      containers:
      - name: probe
        image: localhost/hacktest/never-pulled:0
        imagePullPolicy: Never
YAML

count() { kc -n "$ns" get "$1" -l app=gc-probe -o name | wc -l; }
has_count() { local n; n=$(count "$1"); [[ $n == "$2" ]] || { echo "$n $1"; return 1; }; }
owner_kind() { kc -n "$ns" get "$1" -l app=gc-probe -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}{"\n"}{end}' | sort -u; }

wait_until "the Deployment has 1 ReplicaSet" 60 has_count replicasets 1
expect_eq "owner of the ReplicaSet" Deployment "$(owner_kind replicasets)"
wait_until "the ReplicaSet has 2 Pods" 60 has_count pods 2
expect_eq "owner of the Pods" ReplicaSet "$(owner_kind pods)"

kc -n "$ns" delete deployment gc-probe --wait=false >/dev/null
wait_until "the garbage collector deleted the ReplicaSet" 120 has_count replicasets 0
wait_until "the garbage collector deleted the Pods" 120 has_count pods 0
