#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, the version pinned in hack/helm/go.mod) into build/helm/bin/helm, for the
# chart's tests (charts/worker-operator). A cold build takes a few minutes on two cores.
set -euo pipefail
# shellcheck source=../lib/go_tool.sh
source "$(dirname "$0")/../lib/go_tool.sh"
build_go_tool helm helm.sh/helm/v4 helm.sh/helm/v4/cmd/helm helm.sh/helm/v4/internal/version.version >/dev/null
