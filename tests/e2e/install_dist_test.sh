#!/usr/bin/env bash
# The one-file install (make dist) on the real cluster, as a platform team would use it: dist/install.yaml
# rendered with images of other names (IMG=, WORKER_IMG=), the two OCI archives loaded into the node (the
# stand-in for pushing them to a registry), `kubectl apply -f install.yaml`; then the operator comes up
# Ready and holds its Lease, the sample WorkerJobs get Deployments of the named worker image, and the
# documented uninstall (hack/undeploy.sh) leaves no operator object behind and keeps the CRD and the
# WorkerJobs.
#
# It installs into worker-operator-system, so it runs only where no operator is deployed (the suite runs
# it between its two phases); elsewhere it is skipped (exit 77), as it is against a cluster other than the
# local one, whose node it cannot load images into.
set -euo pipefail
root=${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=install_lib.sh
source "$root/tests/e2e/install_lib.sh"
say() { echo "install-dist: $*"; }
require_no_operator

dist=$(mktemp -d)
team=wo-dist-team-$$
cleanup() {
  k delete namespace "$team" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$dist"
}
trap cleanup EXIT
operator_image=localhost/wo-dist-test/operator:$project_version
worker_image=localhost/wo-dist-test/worker:$project_version

say "make dist with IMG=$operator_image WORKER_IMG=$worker_image"
IMG=$operator_image WORKER_IMG=$worker_image DIST_DIR=$dist KUBECTL=$kubectl "$root/hack/dist.sh"
check "install.yaml runs the operator image $operator_image" grep -q "image: $operator_image\$" "$dist/install.yaml"
check "install.yaml gives the operator --worker-image=$worker_image" \
  grep -q -- "- --worker-image=$worker_image\$" "$dist/install.yaml"
check "SHA256SUMS matches the files" bash -c 'cd "$1" && sha256sum --quiet -c SHA256SUMS' _ "$dist"

for archive in "$dist"/operator-"$project_version".oci.tar "$dist"/worker-"$project_version".oci.tar; do
  ctr --address "$containerd_socket" -n k8s.io images import "$archive" >/dev/null
done
for image in "$operator_image" "$worker_image"; do
  check "the node has $image from its archive" node_has_image "$image"
done

say "kubectl apply -f install.yaml"
k apply -f "$dist/install.yaml"
k wait --for=condition=Established --timeout=60s crd/workerjobs.worker.dev >/dev/null
operator_leads worker-operator-system worker-operator

say "the samples, in namespace $team"
apply_samples "$team"
samples_reconciled "$team" "$worker_image"

say "uninstall (hack/undeploy.sh)"
KUBECTL=$kubectl "$root/hack/undeploy.sh"
left=$(k get namespace/worker-operator-system clusterrole/worker-operator clusterrolebinding/worker-operator \
  clusterrole/workerjob-editor clusterrole/workerjob-viewer -o name --ignore-not-found 2>&1 || true)
check "no operator object is left (left: '$left')" test -z "$left"
check "the CRD stays" k get crd workerjobs.worker.dev -o name
count=$(k -n "$team" get workerjobs -o name | wc -l)
check "the ${#samples[@]} WorkerJobs stay ($count found)" test "$count" -eq "${#samples[@]}"

finish install-dist
