#!/usr/bin/env bash
# Installs the operator into the local cluster (make deploy): the CRD, the namespace, RBAC and the
# operator Deployment, with `kubectl apply -k manifests/`. Then waits until the Deployment is Available
# and one replica holds the leader-election Lease.
#
# Needs the cluster up (make cluster-up) and the images in the node (make images). Another cluster:
# KUBECONFIG=... KUBECTL=kubectl hack/deploy.sh (hack/kind-e2e.sh does that).
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"
# shellcheck source=lib/node.sh
source "$(dirname "$0")/lib/node.sh"

say() { echo "deploy: $*"; }
die() { echo "deploy: $*" >&2; exit 1; }
namespace=worker-operator-system
lease=worker-operator
timeout=${DEPLOY_TIMEOUT:-180}
export KUBECONFIG=${KUBECONFIG:-$cluster_kubeconfig}
kubectl=${KUBECTL:-$kubectl_bin}
kc() { "$kubectl" "$@"; }

kc get --raw /readyz >/dev/null 2>&1 || die "no API server answers at $KUBECONFIG; run make cluster-up first"
if [[ $KUBECONFIG == "$cluster_kubeconfig" ]]; then
  for image in "$(project_image operator)" "$(project_image worker)"; do
    node_has_image "$image" || die "image $image is not in the node's containerd; run make images first"
  done
fi

say "cluster: $(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}') (KUBECONFIG=$KUBECONFIG)"
existed=0
kc -n "$namespace" get deployment/worker-operator >/dev/null 2>&1 && existed=1
say "kubectl apply -k manifests/ (CRD, namespace $namespace, RBAC, team roles, operator Deployment, metrics Service)"
# The CRD must be Established before anything refers to it; apply -k sends it first (kustomize orders
# CRDs before other kinds).
kc apply -k "$cluster_root/manifests/"
kc wait --for=condition=Established --timeout="${timeout}s" crd/workerjobs.worker.dev >/dev/null
# A rebuilt image under the same tag (make images again) is only picked up by new pods.
if ((existed)); then
  say "restarting the operator pods so they run the current image"
  kc -n "$namespace" rollout restart deployment/worker-operator >/dev/null
fi
say "waiting up to ${timeout} s for the operator Deployment to be Available"
kc -n "$namespace" rollout status deployment/worker-operator --timeout="${timeout}s"
kc -n "$namespace" wait --for=condition=Available --timeout="${timeout}s" deployment/worker-operator >/dev/null

say "waiting for one replica to hold the Lease $namespace/$lease"
deadline=$((SECONDS + timeout))
holder_is_a_pod() {
  local holder pods
  holder=$(kc -n "$namespace" get lease "$lease" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) || return 1
  pods=$(kc -n "$namespace" get pods -l app.kubernetes.io/name=worker-operator \
    --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}')
  # The identity is <hostname>_<random>; a pod's hostname is its name.
  for pod in $pods; do [[ $holder == "${pod}_"* ]] && { echo "$holder"; return 0; }; done
  return 1
}
until leader=$(holder_is_a_pod); do
  ((SECONDS < deadline)) || die "no running operator pod holds the Lease $namespace/$lease within ${timeout} s"
  sleep 1
done
kc -n "$namespace" get pods -l app.kubernetes.io/name=worker-operator -o wide
say "done: operator Available in $namespace, leader $leader"
