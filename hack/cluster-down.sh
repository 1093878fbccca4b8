#!/usr/bin/env bash
# Stops what hack/cluster-up.sh started, and only that: processes recorded in .cluster/run/*.pid (or
# running our binaries for this .cluster/) get SIGTERM, then SIGKILL after a grace period. Keeps the
# state (etcd data, certificates) for the next cluster-up, unless --wipe.
#
# Usage: hack/cluster-down.sh [--wipe]
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"
# shellcheck source=lib/node.sh
source "$(dirname "$0")/lib/node.sh"

wipe=0
case ${1:-} in
  "") ;;
  --wipe) wipe=1 ;;
  *) echo "usage: $0 [--wipe]" >&2; exit 2 ;;
esac

if [[ ! -d $cluster_dir ]]; then
  echo "cluster-down: no cluster state in $cluster_dir; nothing to stop"
  exit 0
fi

lock_cluster_dir
components=("${all_components[@]}")
for ((i = ${#components[@]} - 1; i >= 0; i--)); do
  # The pods' containers go while containerd still runs, so that none outlives it.
  if [[ ${components[i]} == containerd && -n $(owned_pid containerd) ]]; then remove_pod_containers; fi
  stop_component "${components[i]}" | sed 's/^cluster: /cluster-down: /'
done
node_teardown | sed 's/^cluster: /cluster-down: /'

# Nothing of ours may still listen: a port held now belongs to a process we did not start.
status=0
for component in "${components[@]}"; do
  for port in $(component_ports "$component"); do
    listener=$(port_listener "$port")
    if [[ -n $listener ]]; then
      echo "cluster-down: port $port ($component) is still in use by $listener, which cluster-up did not start" >&2
      status=1
    fi
  done
done

if ((wipe)); then
  rm -rf --one-file-system "$cluster_dir"
  echo "cluster-down: stopped; removed $cluster_dir"
else
  echo "cluster-down: stopped; state kept in $cluster_dir (hack/cluster-down.sh --wipe removes it)"
fi
exit "$status"
