#!/usr/bin/env bash
# Restarts only the local cluster's kube-apiserver (etcd, the other control-plane components, the node
# and every pod keep running), the way a control-plane upgrade or crash looks to clients. Waits until
# the new API server answers /readyz. Tests use it to prove that watches and the operator resume.
#
# Usage: hack/restart-apiserver.sh
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"

component_healthy kube-apiserver || { echo "restart-apiserver: the API server is not running; make cluster-up" >&2; exit 1; }
start=$SECONDS
(
  lock_cluster_dir
  stop_component kube-apiserver
)
# cluster-up starts what is missing (only the API server now) and waits until it is ready.
"$(dirname "$0")/cluster-up.sh" >/dev/null
echo "restart-apiserver: the API server is back (down and up in $((SECONDS - start)) s)"
