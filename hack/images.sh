#!/usr/bin/env bash
# Builds container images offline with buildah and imports them into the local cluster's containerd.
#
# The base image `debian:bookworm` (docker.io/library/debian:bookworm, the name the Dockerfiles use) is
# made once with debootstrap (minbase) from the Debian mirror apt already uses, and cached in
# build/k8s/images/; it also stands in for `debian:bookworm-slim`, which is the same minimal system with
# documentation trimmed. Nothing is ever pulled from a registry (buildah --pull=never).
#
# Usage: hack/images.sh [DOCKERFILE:IMAGE ...]
#   default: Dockerfile.worker:localhost/worker-operator/worker:dev
#            Dockerfile.operator:localhost/worker-operator/operator:dev (those present)
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"
# shellcheck source=lib/node.sh
source "$(dirname "$0")/lib/node.sh"

say() { echo "images: $*"; }
base_image=docker.io/library/debian:bookworm
base_rootfs_tar=$images_dir/debian-bookworm-rootfs.tar

# The Debian mirror this host's apt uses (deb822 sources or sources.list), for debootstrap.
debian_mirror() {
  local mirror
  mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1)
  [[ -n $mirror ]] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1)
  echo "${mirror:-http://deb.debian.org/debian}"
}

ensure_base_image() {
  if buildah inspect --type image "$base_image" >/dev/null 2>&1 &&
    buildah inspect --type image docker.io/library/debian:bookworm-slim >/dev/null 2>&1; then
    say "base image $base_image present"
    return
  fi
  mkdir -p "$images_dir"
  if [[ ! -f $base_rootfs_tar ]]; then
    local rootfs start=$SECONDS
    rootfs=$(mktemp -d "$images_dir/rootfs.XXXXXX")
    say "debootstrap bookworm (minbase) from $(debian_mirror) into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" >"$images_dir/debootstrap.log" 2>&1 || {
      tail -n 20 "$images_dir/debootstrap.log" >&2
      rm -rf "$rootfs"
      echo "images: debootstrap failed (log: $images_dir/debootstrap.log)" >&2
      exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" --numeric-owner -cf "$base_rootfs_tar.tmp" .
    mv "$base_rootfs_tar.tmp" "$base_rootfs_tar"
    rm -rf "$rootfs"
    say "debootstrap done in $((SECONDS - start)) s (cached in $base_rootfs_tar)"
  fi
  local container
  container=$(buildah from scratch)
  buildah add "$container" "$base_rootfs_tar" / >/dev/null
  buildah config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$container"
  buildah commit -q "$container" "$base_image" >/dev/null
  buildah rm "$container" >/dev/null
  buildah tag "$base_image" localhost/debian:bookworm docker.io/library/debian:bookworm-slim
  say "base image $base_image committed"
}

targets=("$@")
if ((${#targets[@]} == 0)); then
  for name in worker operator; do
    [[ -f $cluster_root/Dockerfile.$name ]] && targets+=("Dockerfile.$name:localhost/worker-operator/$name:dev")
  done
fi

ensure_base_image
for target in "${targets[@]}"; do
  dockerfile=${target%%:*} image=${target#*:}
  start=$SECONDS
  say "building $image from $dockerfile"
  # Host network for RUN steps: apt reaches the Debian mirror as the host does, and buildah makes no
  # bridge or firewall rules of its own.
  buildah bud --pull=never --layers --network=host -f "$cluster_root/$dockerfile" -t "$image" "$cluster_root"
  say "$image built in $((SECONDS - start)) s"
done

if [[ $cluster_node == 1 ]] && [[ -S $containerd_socket ]] && component_healthy containerd; then
  for target in "${targets[@]}"; do
    image=${target#*:}
    import_image "$image"
    say "$image is in the node's containerd"
  done
else
  say "the node's containerd is not running: images stay in buildah's storage (make cluster-up, then run this again)"
fi
