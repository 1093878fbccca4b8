#!/usr/bin/env bash
# The API server reports the pinned Kubernetes version and is ready.
source "$(dirname "$0")/lib.sh"
source "$cluster_root/hack/k8s/versions.env"

server_version=$(kc version -o json | jq -r .serverVersion.gitVersion)
expect_eq "server version" "$KUBERNETES_VERSION" "$server_version"
expect_eq "GET /readyz" ok "$(kc get --raw /readyz)"
expect_eq "GET /livez" ok "$(kc get --raw /livez)"
