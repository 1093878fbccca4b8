#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok, the version pinned in hack/kwok/go.mod) into build/kwok/bin/kwok, for the
# operator's scale benchmark (make bench-scale): kwok fakes nodes and the kubelet's side of the pods on
# them, so a WorkerJob's Deployment gets real ReplicaSets and Pods (Running, Ready) without containers.
set -euo pipefail
# shellcheck source=../lib/go_tool.sh
source "$(dirname "$0")/../lib/go_tool.sh"
build_go_tool kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/pkg/consts.Version >/dev/null
