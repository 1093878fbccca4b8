#!/usr/bin/env bash
# ctest fixture setup for the `cluster` fixture: builds the Kubernetes components and brings the local
# cluster up. When a cluster was already running it is used and left up: only a cluster this fixture
# started is recorded in MARKER, which fixture-down.sh reads.
# Usage: fixture-up.sh MARKER
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
marker=${1:?usage: fixture-up.sh MARKER}

rm -f "$marker"
if cluster_running; then
  echo "fixture: a local cluster is already running; the tests use it and leave it up"
else
  # Recorded before starting, so that the cleanup also stops a half-started cluster.
  touch "$marker"
fi
make -C "$cluster_root" --no-print-directory k8s-build
"$cluster_root/hack/cluster-up.sh"
if [[ $cluster_node == 1 ]]; then
  # The node tests' image (cached: seconds when nothing changed).
  "$cluster_root/hack/images.sh" hack/tests/testdata/Dockerfile.probe:localhost/hacktest/probe:dev
fi
