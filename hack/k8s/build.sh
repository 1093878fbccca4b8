#!/usr/bin/env bash
# Builds the local cluster's components from the pinned k8s.io/kubernetes and etcd modules:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl.
#
# Output: build/k8s/bin/ (or $K8S_BIN_DIR). Go's build cache makes a rebuild with nothing changed take
# seconds; a cold build takes a while on two cores (docs/cluster.md has the figures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
out=${K8S_BIN_DIR:-$root/build/k8s/bin}
mkdir -p "$out"

minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
build_date=$(date -u -d "@${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%dT%H:%M:%SZ)
version_pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
ldflags="-s -w"
for pkg in "${version_pkgs[@]}"; do
  ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.gitCommit=${KUBERNETES_VERSION} -X ${pkg}.buildDate=${build_date}"
done

components=(
  "etcd=go.etcd.io/etcd/server/v3"
  "kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler"
  "kubelet=k8s.io/kubernetes/cmd/kubelet"
  "kube-proxy=k8s.io/kubernetes/cmd/kube-proxy"
  "kubectl=k8s.io/kubernetes/cmd/kubectl"
)

cd "$here"
export CGO_ENABLED=0
for entry in "${components[@]}"; do
  name=${entry%%=*} pkg=${entry#*=}
  start=$SECONDS
  echo "build-k8s: ${name} (${pkg})"
  go build -p "${GO_BUILD_PARALLELISM:-2}" -trimpath -ldflags "$ldflags" -o "$out/$name" "$pkg"
  echo "build-k8s: ${name} ready in $((SECONDS - start)) s"
done
echo "build-k8s: ${KUBERNETES_VERSION} components in ${out}"
