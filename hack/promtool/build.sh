#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus, the version pinned in hack/promtool/go.mod) into
# build/promtool/bin/promtool, for the alerting rules' tests (tests/monitoring/). A cold build takes
# several minutes on two cores: Prometheus brings every service discovery's client library.
set -euo pipefail
# shellcheck source=../lib/go_tool.sh
source "$(dirname "$0")/../lib/go_tool.sh"
build_go_tool promtool github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/promtool \
  github.com/prometheus/common/version.Version >/dev/null
