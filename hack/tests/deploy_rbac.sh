#!/usr/bin/env bash
# The install's RBAC (manifests/rbac.yaml) grants the operator exactly what it uses: every verb it needs
# is allowed, Secrets and a set of neighbouring verbs are denied, and server-side apply can create an
# object with it. The ServiceAccount and RBAC are applied under a unique name prefix in a test namespace
# (kustomize namePrefix/namespace), so an installed operator (make deploy) is never touched and no
# operator runs (it would reconcile other tests' WorkerJobs).
source "$(dirname "$0")/lib.sh"
use_test_namespace
overlay=$(mktemp -d)
cleanup() {
  kc delete clusterrolebinding,clusterrole "$ns-worker-operator" --ignore-not-found >/dev/null 2>&1 || true
  kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$overlay"
}
trap cleanup EXIT

cat >"$overlay/kustomization.yaml" <<YAML
namespace: $ns
namePrefix: $ns-
resources:
  - $cluster_root/manifests/service_account.yaml
  - $cluster_root/manifests/rbac.yaml
YAML
kc kustomize --load-restrictor LoadRestrictionsNone "$overlay" | kc apply -f - >/dev/null
sa="system:serviceaccount:$ns:$ns-worker-operator"
other=default

can() { kc auth can-i "$@" --as="$sa" 2>/dev/null || true; }
expect_can() { expect_eq "can-i $*" yes "$(can "$@")"; }
expect_cannot() { expect_eq "can-i $*" no "$(can "$@")"; }

# What the operator uses (docs/operations.md, RBAC).
wait_until "the ClusterRoleBinding is in force" 30 bash -c \
  "[[ \$('$kubectl_bin' --kubeconfig '$cluster_kubeconfig' auth can-i watch workerjobs.worker.dev -A --as='$sa') == yes ]]"
for verb in get list watch; do expect_can "$verb" workerjobs.worker.dev -A; done
expect_can patch workerjobs.worker.dev --subresource=status -n "$other"
expect_can update workerjobs.worker.dev --subresource=finalizers -n "$other"
for resource in deployments.apps configmaps; do
  for verb in list watch create patch; do expect_can "$verb" "$resource" -n "$other"; done
done
expect_can delete configmaps -n "$other"
for verb in list watch; do expect_can "$verb" replicasets.apps -A; expect_can "$verb" pods -A; done
for verb in create patch; do expect_can "$verb" events -n "$other"; done
for verb in get create update; do expect_can "$verb" leases.coordination.k8s.io -n "$ns"; done

# What it must not do.
for verb in get list watch; do expect_cannot "$verb" secrets -A; expect_cannot "$verb" secrets -n "$ns"; done
for verb in get update delete; do expect_cannot "$verb" deployments.apps -n "$other"; done
expect_cannot get configmaps -n "$other"  # read from the informer's cache, which holds every ConfigMap
for verb in create patch delete; do expect_cannot "$verb" replicasets.apps -n "$other"; done
for verb in create delete; do expect_cannot "$verb" pods -n "$other"; done
expect_cannot create pods --subresource=exec -n "$other"
for verb in create update delete; do expect_cannot "$verb" workerjobs.worker.dev -n "$other"; done
expect_cannot patch workerjobs.worker.dev --subresource=scale -n "$other"
expect_cannot update leases.coordination.k8s.io -n kube-node-lease
expect_cannot create leases.coordination.k8s.io -n kube-system
expect_cannot delete leases.coordination.k8s.io -n "$ns"
expect_cannot create serviceaccounts --subresource=token -n "$other"
expect_cannot create clusterrolebindings.rbac.authorization.k8s.io
expect_cannot list nodes

# Server-side apply with these rights creates an object (it needs create as well as patch).
cat <<YAML | kc apply --server-side --field-manager=worker-operator --force-conflicts --as="$sa" -f - >/dev/null
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa-created, namespace: $ns}
data: {created: by-server-side-apply}
YAML
expect_eq "ConfigMap created by server-side apply as the operator" by-server-side-apply \
  "$(kc -n "$ns" get configmap ssa-created -o jsonpath='{.data.created}')"
