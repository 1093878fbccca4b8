#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus, the version pinned in hack/promtool/go.mod) into
# build/promtool/bin/promtool, for the alerting rules' tests (tests/monitoring/). Go's build cache makes a
# rebuild with nothing changed take seconds; a cold build takes several minutes on two cores (Prometheus
# brings every service discovery's client library).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${PROMTOOL_BIN_DIR:-$root/build/promtool/bin}
mkdir -p "$out"
version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
start=$SECONDS
echo "build-promtool: promtool of prometheus ${version}"
cd "$here"
CGO_ENABLED=0 go build -p "${GO_BUILD_PARALLELISM:-2}" -trimpath \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version}" -o "$out/promtool" \
  github.com/prometheus/prometheus/cmd/promtool
echo "build-promtool: $out/promtool ready in $((SECONDS - start)) s"
