#!/usr/bin/env bash
# The Helm chart (charts/worker-operator) with the real Helm (hack/helm/, helm.sh/helm/v4 built from its Go
# module) on the real cluster:
#   helm lint (default values and every optional part on); helm template checked by a server-side dry run;
#   helm install: the operator leads and the samples reconcile;
#   helm upgrade with a changed value rolls the operator;
#   helm upgrade to namespaced mode (watchNamespaces): Roles only, no cluster-wide rights over workloads, a
#   WorkerJob in a watched namespace reconciled and one outside left alone;
#   helm uninstall: nothing of the release left, the CRD and the WorkerJobs kept.
# Like install_dist_test.sh it installs into worker-operator-system, so it runs only where no operator is
# deployed (skipped otherwise, exit 77).
set -euo pipefail
root=${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=install_lib.sh
source "$root/tests/e2e/install_lib.sh"
say() { echo "helm-test: $*"; }
require_no_operator

"$root/hack/helm/build.sh"
helm=${HELM_BIN_DIR:-$root/build/helm/bin}/helm
chart=$root/charts/worker-operator
release=worker-operator
ns=worker-operator-system
team=wo-helm-team-$$
outside=wo-helm-outside-$$
dry=wo-helm-dry-$$
cleanup() {
  "$helm" uninstall "$release" -n "$ns" --wait >/dev/null 2>&1 || true
  k delete namespace "$team" "$outside" "$dry" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  # The next install (the suite's deployed operator) needs the namespace gone, not terminating.
  k delete namespace "$ns" --ignore-not-found >/dev/null 2>&1 || true
}
trap cleanup EXIT
all_on=(--set "watchNamespaces={$dry}" --set networkPolicy.enabled=true --set "networkPolicy.apiServerCIDRs={10.0.0.0/8}"
  --set priorityClassName=system-cluster-critical --set "nodeSelector.kubernetes\.io/os=linux"
  --set "extraArgs={--max-concurrent-reconciles=4}")

say "helm lint"
check "helm lint --strict (default values)" "$helm" lint --strict "$chart"
check "helm lint --strict (every optional part on)" "$helm" lint --strict "$chart" "${all_on[@]}"

say "helm template, checked by the API server (server-side dry run)"
k create namespace "$dry" >/dev/null
for values in default all-on; do
  args=()
  [[ $values == all-on ]] && args=("${all_on[@]}")
  check "helm template ($values values) is accepted by a server-side dry run" bash -c \
    '"$1" template wo-dry "$2" -n "$3" "${@:5}" | "$4" apply --dry-run=server -f - >/dev/null' \
    _ "$helm" "$chart" "$dry" "$kubectl" "${args[@]}"
done
rbac_rules() { k create --dry-run=client -o json -f - | jq -c '[.. | objects | select(.kind? == "ClusterRole" and .metadata.name == "wo-dry-worker-operator") | .rules] | first'; }
chart_rules=$("$helm" template wo-dry "$chart" -n "$dry" --show-only templates/rbac.yaml | rbac_rules || true)
manifest_rules=$(sed 's/name: worker-operator$/name: wo-dry-worker-operator/' "$root/manifests/rbac.yaml" | rbac_rules || true)
check "the chart's ClusterRole has the rules of manifests/rbac.yaml" test "$chart_rules" == "$manifest_rules" -a -n "$chart_rules"

say "helm install"
check "helm install" "$helm" install "$release" "$chart" -n "$ns" --create-namespace --wait --timeout 3m
operator_leads "$ns" "$release"
apply_samples "$team"
samples_reconciled "$team" "$(project_image worker)"

say "helm upgrade with a changed value rolls the operator"
before=$(k -n "$ns" get deployment "$release" -o jsonpath='{.metadata.generation}')
check "helm upgrade --set logLevel=debug" "$helm" upgrade "$release" "$chart" -n "$ns" --reuse-values --set logLevel=debug --wait --timeout 3m
after=$(k -n "$ns" get deployment "$release" -o jsonpath='{.metadata.generation}')
check "the Deployment changed (generation $before -> $after)" test "$after" -gt "$before"
check "its pods run --log-level=debug" bash -c '"$1" -n "$2" get pods -l app.kubernetes.io/instance="$3" -o json |
  jq -e "[.items[] | select(.metadata.deletionTimestamp == null) | .spec.containers[0].args | index(\"--log-level=debug\") != null] | length > 0 and all"' \
  _ "$kubectl" "$ns" "$release"
operator_leads "$ns" "$release"

say "namespaced mode: watchNamespaces={$team}"
check "helm upgrade --set watchNamespaces={$team}" "$helm" upgrade "$release" "$chart" -n "$ns" --reuse-values \
  --set "watchNamespaces={$team}" --wait --timeout 3m
operator_leads "$ns" "$release"
sa=system:serviceaccount:$ns:$release
check "no ClusterRole or ClusterRoleBinding $release" test -z "$(k get clusterrole/$release clusterrolebinding/$release -o name --ignore-not-found)"
check "a Role and RoleBinding in $team" k -n "$team" get role/"$release" rolebinding/"$release" -o name
check "the operator may list WorkerJobs in $team" test "$(k auth can-i list workerjobs.worker.dev -n "$team" --as="$sa")" == yes
check "the operator may not list WorkerJobs across namespaces" test "$(k auth can-i list workerjobs.worker.dev -A --as="$sa" || true)" == no
check "the operator may not list Deployments across namespaces" test "$(k auth can-i list deployments.apps -A --as="$sa" || true)" == no
k create namespace "$outside" >/dev/null
sed "s/namespace: campaigns/namespace: $outside/" "$root/manifests/samples/campaigns-reconciler.yaml" | k apply -f - >/dev/null
sed "s/namespace: campaigns/namespace: $team/; s/name: campaigns-reconciler/name: added-later/" \
  "$root/manifests/samples/campaigns-reconciler.yaml" | k apply -f - >/dev/null
samples=(added-later)
samples_reconciled "$team" "$(project_image worker)"
sleep 5  # the outside WorkerJob was applied before the inside one was reconciled; give it a little more
check "the WorkerJob outside the watched namespaces is left alone (no Deployment, no status)" test -z \
  "$(k -n "$outside" get deployment campaigns-reconciler -o name --ignore-not-found)$(k -n "$outside" get workerjob campaigns-reconciler -o jsonpath='{.status.observedGeneration}')"

say "helm uninstall"
check "helm uninstall" "$helm" uninstall "$release" -n "$ns" --wait --timeout 3m
left=$(k get -A deployments,services,serviceaccounts,roles,rolebindings,networkpolicies -l app.kubernetes.io/instance="$release" -o name)
left+=$(k get clusterroles,clusterrolebindings -l app.kubernetes.io/instance="$release" -o name)
left+=$(k get clusterrole/workerjob-editor clusterrole/workerjob-viewer -o name --ignore-not-found)
check "nothing of the release is left (left: '$left')" test -z "$left"
check "the CRD stays" k get crd workerjobs.worker.dev -o name
check "the WorkerJobs stay" test "$(k -n "$team" get workerjobs -o name | wc -l)" -eq 4

finish helm-test
