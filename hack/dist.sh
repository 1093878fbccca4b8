#!/usr/bin/env bash
# make dist: what a platform team needs to install a release on its own cluster, in dist/:
#   install.yaml                     the CRD, the namespace, RBAC, the team roles and the operator, in one file
#                                    (kubectl apply -f dist/install.yaml), rendered from manifests/ with the
#                                    images below
#   operator-VERSION.oci.tar         the operator image as an OCI archive, named IMG inside
#   worker-VERSION.oci.tar           the worker image as an OCI archive, named WORKER_IMG inside
#   SHA256SUMS
# Push the archives to your registry (e.g. skopeo copy oci-archive:dist/worker-0.1.0.oci.tar
# docker://registry.example.com/worker-operator/worker:0.1.0) and pass the names they get:
#   make dist IMG=registry.example.com/worker-operator/operator:0.1.0 \
#             WORKER_IMG=registry.example.com/worker-operator/worker:0.1.0
#
# Needs the images built (make images, or hack/images.sh: the cluster need not be up) and kubectl
# (make k8s-build), whose built-in kustomize renders manifests/.
#   IMG, WORKER_IMG  the images' names in install.yaml and in the archives (default: the local ones of VERSION)
#   DIST_DIR         where to write (default: dist/)
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"

say() { echo "dist: $*"; }
die() { echo "dist: $*" >&2; exit 1; }
operator_image=${IMG:-$(project_image operator)}
worker_image=${WORKER_IMG:-$(project_image worker)}
dist_dir=${DIST_DIR:-$cluster_root/dist}
kubectl=${KUBECTL:-$kubectl_bin}

# A reference is name[:tag][@digest]; install.yaml needs a tag or a digest, never "latest" by omission.
check_reference() {  # what, reference
  [[ $2 =~ ^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$ ]] ||
    die "$1='$2' is not an image reference (registry/name:tag or name@sha256:...)"
  [[ ${2##*/} == *:* || $2 == *@sha256:* ]] || die "$1='$2' has no tag: give one (e.g. :$project_version)"
}
check_reference IMG "$operator_image"
check_reference WORKER_IMG "$worker_image"
[[ -x $kubectl ]] || die "$kubectl is missing: run make k8s-build (or set KUBECTL)"
for image in "$(project_image operator)" "$(project_image worker)"; do
  buildah inspect --type image "$image" >/dev/null 2>&1 || die "image $image is not built: run hack/images.sh (or make images)"
done

mkdir -p "$dist_dir"
dist_dir=$(cd "$dist_dir" && pwd)
work=$(mktemp -d "$cluster_root/build/dist-overlay.XXXXXX")
trap 'rm -rf "$work"' EXIT

# An overlay of manifests/ that names the images: kustomize replaces the operator's image, and a patch
# gives the operator its worker image (its default is the local name of its own version).
operator_name=${operator_image%@*}
operator_digest=
[[ $operator_image == *@* ]] && operator_digest=${operator_image#*@}
operator_tag=
if [[ ${operator_name##*/} == *:* ]]; then
  operator_tag=${operator_name##*:}
  operator_name=${operator_name%:*}
fi
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$work" "$cluster_root/manifests")"
  echo "images:"
  echo "  - name: $(project_image operator | sed 's/:[^:]*$//')"
  echo "    newName: $operator_name"
  [[ -n $operator_tag ]] && echo "    newTag: \"$operator_tag\""
  [[ -n $operator_digest ]] && echo "    digest: $operator_digest"
  echo "patches:"
  echo "  - target: {group: apps, kind: Deployment, name: worker-operator}"
  echo "    patch: |-"
  echo "      - op: add"
  echo "        path: /spec/template/spec/containers/0/args/-"
  echo "        value: --worker-image=$worker_image"
} >"$work/kustomization.yaml"

commit=$(project_commit)
say "rendering manifests/ into $dist_dir/install.yaml (operator $operator_image, worker $worker_image)"
{
  echo "# worker-operator $project_version (commit $commit): the CRD, the namespace worker-operator-system,"
  echo "# RBAC, the team roles and the operator. Install: kubectl apply -f install.yaml"
  echo "# Uninstall, keeping the CRD and every WorkerJob: see docs/operations.md (\"Install on your cluster\")."
  echo "# Images: $operator_image (operator), $worker_image (worker)."
  "$kubectl" kustomize "$work"
} >"$dist_dir/install.yaml.tmp"
mv "$dist_dir/install.yaml.tmp" "$dist_dir/install.yaml"

# The archives name the images as install.yaml does, so loading one (ctr images import, podman load)
# gives the very name the cluster will ask for.
rm -f "$dist_dir"/operator-*.oci.tar "$dist_dir"/worker-*.oci.tar
for pair in "operator:$operator_image" "worker:$worker_image"; do
  name=${pair%%:*} image=${pair#*:}
  archive=$dist_dir/$name-$project_version.oci.tar
  say "writing $image to $archive"
  buildah push -q "$(project_image "$name")" "oci-archive:$archive.tmp:${image%@*}" >/dev/null
  mv "$archive.tmp" "$archive"
done
(cd "$dist_dir" && sha256sum install.yaml operator-"$project_version".oci.tar worker-"$project_version".oci.tar >SHA256SUMS)
ls -l "$dist_dir"
say "done: kubectl apply -f $dist_dir/install.yaml installs version $project_version"
