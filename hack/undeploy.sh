#!/usr/bin/env bash
# Removes what make deploy installed: the operator Deployment, its Service, RBAC and the namespace
# worker-operator-system. The CRD stays by default: deleting it deletes every WorkerJob in the cluster,
# and with them (through ownerReferences) every worker Deployment the teams run. Removing the operator
# only stops reconciliation; the workers keep running. To remove the CRD and all WorkerJobs as well:
#   UNDEPLOY_CRD=1 hack/undeploy.sh
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"

say() { echo "undeploy: $*"; }
export KUBECONFIG=${KUBECONFIG:-$cluster_kubeconfig}
kubectl=${KUBECTL:-$kubectl_bin}
kc() { "$kubectl" "$@"; }

kc get --raw /readyz >/dev/null 2>&1 || { echo "undeploy: no API server answers at $KUBECONFIG" >&2; exit 1; }
# The namespace takes the Deployment, Service, ServiceAccount, Role and RoleBinding with it; the
# cluster-scoped RBAC objects go by name. (A label selector cannot tell them from the CRD, which carries
# the same app.kubernetes.io labels.) The team roles go too: edit and view lose the WorkerJob rights.
say "deleting the namespace worker-operator-system, the ClusterRole(Binding) worker-operator and the team roles"
kc delete --ignore-not-found --wait=true clusterrolebinding/worker-operator clusterrole/worker-operator \
  clusterrole/workerjob-editor clusterrole/workerjob-viewer
kc delete --ignore-not-found --wait=true namespace/worker-operator-system
if [[ ${UNDEPLOY_CRD:-0} == 1 ]]; then
  say "deleting the CRD workerjobs.worker.dev and with it every WorkerJob"
  kc delete --ignore-not-found --wait=true crd/workerjobs.worker.dev
else
  say "kept the CRD workerjobs.worker.dev and the WorkerJobs (UNDEPLOY_CRD=1 removes them)"
fi
say "done"
