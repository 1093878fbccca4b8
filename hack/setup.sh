#!/usr/bin/env bash
# Installs what this machine lacks to build, test and run worker-operator: Debian packages for the C++
# build, Postgres, the local cluster's node runtime and image tools. Idempotent: installs only what is
# missing, and says what that is.
set -euo pipefail

packages=(
  # C++ build
  g++ cmake ninja-build ccache pkg-config make
  libcpprest-dev libyaml-cpp-dev libpqxx-dev libpq-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libssl-dev libboost-dev
  # lint, format, fuzzing (libFuzzer ships with clang; its runtime with libclang-rt)
  clang clang-tidy clang-format libclang-rt-14-dev shellcheck
  # Postgres for the integration tests and the demo (test fixtures run initdb as the postgres user)
  postgresql postgresql-contrib postgresql-client
  # the local cluster: certificates, process and network tools
  openssl curl procps iproute2 util-linux psmisc
  # the local cluster's node: container runtime, pod network, image builds (hack/lib/node.sh, hack/images.sh)
  containerd runc containernetworking-plugins iptables conntrack buildah debootstrap
  # the tests' JSON and YAML tooling (jq; yq extracts the alert rules for promtool)
  jq yq
  # the status page's browser tests (headless, local and e2e) and hack/status-page-screenshot.sh
  chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: this needs root (apt-get); run it as root or with sudo" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: Debian packages installed"
else
  echo "setup: all ${#packages[@]} Debian packages present"
fi

# Go builds the local cluster's Kubernetes components (hack/k8s), the Helm the chart tests use (hack/helm)
# and promtool for the alert tests (hack/promtool); Debian's golang is too old for them. The newest of the
# modules' go lines is needed.
need_go=$(sed -n 's/^go //p' "$(dirname "$0")"/*/go.mod | sort -V | tail -n1)
if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go ${need_go} or newer is required to build the local cluster and is not on PATH" >&2
  exit 1
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -1) != "$need_go" ]]; then
  echo "setup: Go ${need_go} or newer is required (found ${have_go})" >&2
  exit 1
fi
echo "setup: go ${have_go} ok (hack/k8s, hack/helm and hack/promtool need ${need_go})"
