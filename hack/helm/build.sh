#!/usr/bin/env bash
# Builds Helm (helm.sh/helm/v4, the version pinned in hack/helm/go.mod) into build/helm/bin/helm, for the
# chart's tests (charts/worker-operator). Go's build cache makes a rebuild with nothing changed take
# seconds; a cold build takes a few minutes on two cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${HELM_BIN_DIR:-$root/build/helm/bin}
mkdir -p "$out"
version=$(cd "$here" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
start=$SECONDS
echo "build-helm: helm ${version}"
cd "$here"
CGO_ENABLED=0 go build -p "${GO_BUILD_PARALLELISM:-2}" -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${version}" -o "$out/helm" helm.sh/helm/v4/cmd/helm
echo "build-helm: $out/helm ($("$out/helm" version --short)) ready in $((SECONDS - start)) s"
