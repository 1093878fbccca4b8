#!/usr/bin/env bash
# ctest fixture cleanup for the `cluster` fixture: stops the local cluster only when fixture-up.sh started it.
# Usage: fixture-down.sh MARKER
set -euo pipefail
marker=${1:?usage: fixture-down.sh MARKER}
if [[ -f $marker ]]; then
  "$(dirname "$0")/../cluster-down.sh"
  rm -f "$marker"
else
  echo "fixture: the cluster was running before the tests; leaving it up"
fi
