#!/usr/bin/env bash
# Builds container images offline with buildah and imports them into the local cluster's containerd.
#
# The base image `debian:bookworm` (docker.io/library/debian:bookworm, the name the Dockerfiles use) is
# made once with debootstrap (minbase) from the Debian mirror apt already uses, and cached in
# build/k8s/images/; it also stands in for `debian:bookworm-slim`, which is the same minimal system with
# documentation trimmed. Nothing is ever pulled from a registry (buildah --pull=never).
#
# The binaries: IMAGE_BINARY_FROM=host (the default on a Debian bookworm host once `make build` has made
# them) strips build/bin/<binary> into build/image-bin/ and hands that folder to the build as the context
# `hostbin`, so an image takes seconds; IMAGE_BINARY_FROM=source compiles inside the image build, as
# `docker build` on a clean checkout does (minutes). The runtime stage is the same either way.
#
# Usage: hack/images.sh [DOCKERFILE:IMAGE ...]
#   default: Dockerfile.worker:localhost/worker-operator/worker:VERSION
#            Dockerfile.operator:localhost/worker-operator/operator:VERSION (those present), VERSION being the
#            file's content. The images carry it and the git commit as OCI labels (version, revision).
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
    [[ -f $cluster_root/Dockerfile.$name ]] && targets+=("Dockerfile.$name:$(project_image "$name")")
  done
fi

# The project binary a Dockerfile copies in (none for other Dockerfiles, such as the e2e suite's Postgres).
binary_of() {
  case $1 in
    Dockerfile.operator) echo worker-operator ;;
    Dockerfile.worker) echo worker ;;
  esac
}

# host when this machine can stand in for the image's build stage: Debian bookworm with the binaries built.
default_binary_from() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ $codename == bookworm ]] || { echo source; return; }
  local binary
  for target in "${targets[@]}"; do
    binary=$(binary_of "${target%%:*}")
    [[ -z $binary || -x $cluster_root/build/bin/$binary ]] || { echo source; return; }
  done
  echo host
}
binary_from=${IMAGE_BINARY_FROM:-$(default_binary_from)}
[[ $binary_from == host || $binary_from == source ]] ||
  { echo "images: IMAGE_BINARY_FROM must be host or source, not '$binary_from'" >&2; exit 2; }
say "binaries from: $binary_from"

# The commit the images are built from (their org.opencontainers.image.revision label).
git_commit=$(project_commit)
ensure_base_image
hostbin=$cluster_root/build/image-bin
for target in "${targets[@]}"; do
  dockerfile=${target%%:*} image=${target#*:}
  start=$SECONDS
  say "building $image from $dockerfile"
  build_args=()
  binary=$(binary_of "$dockerfile")
  [[ -n $binary ]] && build_args+=(--build-arg "BINARY_FROM=$binary_from" --build-arg "VERSION=$project_version"
    --build-arg "GIT_COMMIT=$git_commit")
  if [[ -n $binary && $binary_from == host ]]; then
    [[ -x $cluster_root/build/bin/$binary ]] ||
      { echo "images: build/bin/$binary is missing; run make build (or IMAGE_BINARY_FROM=source)" >&2; exit 1; }
    mkdir -p "$hostbin"
    strip -o "$hostbin/$binary" "$cluster_root/build/bin/$binary"
    build_args+=(--build-context "hostbin=$hostbin")
  fi
  # Host network for RUN steps: apt reaches the Debian mirror as the host does, and buildah makes no
  # bridge or firewall rules of its own.
  buildah bud --pull=never --layers --network=host "${build_args[@]}" \
    -f "$cluster_root/$dockerfile" -t "$image" "$cluster_root"
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
