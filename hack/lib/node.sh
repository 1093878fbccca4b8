# shellcheck shell=bash disable=SC2034,SC2154 # a library sourced after lib/cluster.sh: its variables
# are for the scripts that source it, and it uses lib/cluster.sh's.
# The local cluster's node: configuration of containerd (own config, socket and state under .cluster/),
# the kubelet, kube-proxy and the CNI bridge; the locally built sandbox image; the host firewall rules
# that keep the cluster's ports and pod traffic on this machine; and the teardown of all of that.
# Sourced by hack/cluster-up.sh and hack/cluster-down.sh after lib/cluster.sh.

node_tools=(containerd ctr runc iptables conntrack buildah gcc)
cni_bin_dir=/usr/lib/cni
node_config_dir=$cluster_dir/config
pod_logs_dir=$cluster_dir/pod-logs
kubelet_root=$cluster_dir/kubelet
images_dir=$cluster_root/build/k8s/images

# Components whose configuration file changed in this run (cluster-up restarts them).
changed_configs=" "

# write_config FILE COMPONENT: writes stdin to FILE when it differs, and records COMPONENT as changed.
write_config() {
  local file=$1 component=$2 content
  content=$(cat)
  [[ -f $file && $(<"$file") == "$content" ]] && return 0
  printf '%s\n' "$content" >"$file"
  changed_configs+="$component "
}

config_changed() { [[ $changed_configs == *" $1 "* ]]; }

write_node_configs() {
  local host_ip pki=$cluster_pki
  host_ip=$(host_address)
  mkdir -p "$containerd_dir" "$cluster_dir/cni/net.d" "$cluster_dir/cni/ipam" "$pod_logs_dir" "$kubelet_root"

  # netns_mounts_under_state_dir keeps the pods' network namespaces under .cluster/ too.
  write_config "$containerd_dir/config.toml" containerd <<EOF
version = 2
root = "$containerd_dir/root"
state = "$containerd_dir/state"
[grpc]
  address = "$containerd_socket"
[ttrpc]
  address = "$containerd_socket.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$containerd_dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox_image"
  netns_mounts_under_state_dir = true
  # These hosts deny CAP_SYS_RESOURCE even to root, so runc cannot lower oom_score_adj below the
  # containerd's own (the kubelet asks -998 for sandboxes): clamp instead of failing every pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin_dir"
    conf_dir = "$cluster_dir/cni/net.d"
EOF

  # No masquerading: pods talk to this host (the bridge's gateway) and each other, never beyond.
  write_config "$cluster_dir/cni/net.d/10-wo-pods.conflist" containerd <<EOF
{
  "cniVersion": "1.0.0",
  "name": "wo-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "$pod_bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$cluster_dir/cni/ipam",
        "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gateway"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  write_config "$node_config_dir/kubelet.yaml" kubelet <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${host_ip:-127.0.0.1}
port: $kubelet_port
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$containerd_socket
imageServiceEndpoint: unix://$containerd_socket
failSwapOn: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $pod_logs_dir
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 5%, imagefs.available: 5%}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
EOF

  write_config "$node_config_dir/kube-proxy.yaml" kube-proxy <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $node_config_dir/kube-proxy.kubeconfig}
hostnameOverride: $node_name
mode: iptables
clusterCIDR: $cluster_cidr
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$kube_proxy_healthz_port
metricsBindAddress: 127.0.0.1:$kube_proxy_metrics_port
conntrack: {maxPerCore: 0}
EOF
}

node_component_args() {
  local host_ip
  host_ip=$(host_address)
  case $1 in
    containerd) args=(--config="$containerd_dir/config.toml") ;;
    kubelet)
      args=(--config="$node_config_dir/kubelet.yaml" --kubeconfig="$node_config_dir/kubelet.kubeconfig"
        --root-dir="$kubelet_root" --hostname-override="$node_name" --node-ip="${host_ip:-127.0.0.1}") ;;
    kube-proxy) args=(--config="$node_config_dir/kube-proxy.yaml") ;;
  esac
}

# build_sandbox_image: the pause image from hack/node/pause.c, a static binary in an otherwise empty image.
build_sandbox_image() {
  local work=$images_dir/pause container
  mkdir -p "$work"
  gcc -static -O2 -Wall -Wextra -Werror -o "$work/pause" "$cluster_root/hack/node/pause.c"
  strip "$work/pause"
  container=$(buildah from scratch)
  buildah copy "$container" "$work/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$container"
  buildah commit -q "$container" "$sandbox_image" >/dev/null
  buildah rm "$container" >/dev/null
}

# import_image NAME: copies an image from buildah's local storage into the node's containerd, unless that
# very image (same ID) was imported already and containerd still has it.
import_image() {
  local name=$1 archive id stamp
  id=$(buildah images --no-trunc --format '{{.ID}}' "$name" | head -n1)
  stamp=$containerd_dir/imported/$(echo "$name" | tr '/:' '__')
  if [[ -f $stamp && $(<"$stamp") == "$id" ]] && node_has_image "$name"; then
    return 0
  fi
  mkdir -p "$images_dir" "${stamp%/*}"
  archive=$images_dir/$(echo "$name" | tr '/:' '__').oci.tar
  rm -f "$archive"
  buildah push -q "$name" "oci-archive:$archive:$name" >/dev/null
  ctr --address "$containerd_socket" -n k8s.io images import "$archive" >/dev/null
  rm -f "$archive"
  echo "$id" >"$stamp"
}

node_has_image() {
  ctr --address "$containerd_socket" -n k8s.io images ls -q "name==$1" 2>/dev/null | grep -q .
}

ensure_sandbox_image() {
  node_has_image "$sandbox_image" && return 0
  echo "cluster-up: building the sandbox image $sandbox_image (hack/node/pause.c) and importing it into containerd"
  buildah inspect --type image "$sandbox_image" >/dev/null 2>&1 || build_sandbox_image
  import_image "$sandbox_image"
}

wait_for_node_ready() {
  local deadline=$((SECONDS + 120))
  until [[ $("$kubectl_bin" --kubeconfig "$cluster_kubeconfig" get node "$node_name" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; do
    if ((SECONDS >= deadline)); then
      echo "cluster-up: node $node_name did not become Ready within 120 s" >&2
      echo "cluster-up: last 40 lines of $(logfile_of kubelet):" >&2
      tail -n 40 "$(logfile_of kubelet)" | sed 's/^/    /' >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "cluster-up: node $node_name is Ready ($((SECONDS - started_at)) s)"
}

# The pod bridge with its gateway address, before any pod exists. The CNI bridge plugin would make it
# with the first pod; made here, the host has the address pods reach it at from the start, so a host
# service can bind to it right after cluster-up (make demo's Postgres does).
node_bridge() {
  ip link show "$pod_bridge" >/dev/null 2>&1 || ip link add name "$pod_bridge" type bridge
  ip -4 addr show dev "$pod_bridge" | grep -q "inet $pod_gateway/" ||
    ip addr add "$pod_gateway/${pod_cidr#*/}" dev "$pod_bridge"
  ip link set "$pod_bridge" up
}

# The API server and kubelet listen on all addresses once there is a node (pods reach them through the
# bridge); these chains admit only loopback and the pod bridge, and keep pod traffic off other interfaces.
firewall_chains=(WO-CLUSTER-INPUT:INPUT WO-CLUSTER-FORWARD:FORWARD)
node_firewall() {
  local entry chain parent
  [[ -f $cluster_run/ip_forward.orig ]] || cat /proc/sys/net/ipv4/ip_forward >"$cluster_run/ip_forward.orig"
  for entry in "${firewall_chains[@]}"; do
    chain=${entry%%:*} parent=${entry#*:}
    iptables -w -N "$chain" 2>/dev/null || iptables -w -F "$chain"
    iptables -w -C "$parent" -j "$chain" 2>/dev/null || iptables -w -I "$parent" -j "$chain"
  done
  iptables -w -A WO-CLUSTER-INPUT -i lo -j RETURN
  iptables -w -A WO-CLUSTER-INPUT -i "$pod_bridge" -j RETURN
  iptables -w -A WO-CLUSTER-INPUT -p tcp -m multiport --dports "$apiserver_port,$kubelet_port" -j DROP
  iptables -w -A WO-CLUSTER-FORWARD -i "$pod_bridge" ! -o "$pod_bridge" -j DROP
  iptables -w -A WO-CLUSTER-FORWARD ! -i "$pod_bridge" -o "$pod_bridge" -j DROP
}

remove_node_firewall() {
  local entry chain parent
  [[ -f $cluster_run/ip_forward.orig ]] || cat /proc/sys/net/ipv4/ip_forward >"$cluster_run/ip_forward.orig"
  for entry in "${firewall_chains[@]}"; do
    chain=${entry%%:*} parent=${entry#*:}
    while iptables -w -D "$parent" -j "$chain" 2>/dev/null; do :; done
    iptables -w -F "$chain" 2>/dev/null || true
    iptables -w -X "$chain" 2>/dev/null || true
  done
}

# The KUBE-* chains the kubelet and kube-proxy made, in every table of iptables and ip6tables: the jumps
# to them from the built-in chains first, then the chains themselves.
remove_kube_chains() {
  local tool table rule chain
  for tool in iptables ip6tables; do
    command -v "$tool-save" >/dev/null || continue
    for table in filter nat mangle; do
      while read -r rule; do
        read -ra words <<<"${rule#-A }"
        "$tool" -w -t "$table" -D "${words[@]}" 2>/dev/null || true
      done < <("$tool-save" -t "$table" 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-')
      for chain in $("$tool-save" -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
        "$tool" -w -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$tool-save" -t "$table" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
        "$tool" -w -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# Kills every container of the node through containerd (while it still runs), so no shim outlives it.
remove_pod_containers() {
  local ctr_=(ctr --address "$containerd_socket" -n k8s.io) task
  for task in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do
    "${ctr_[@]}" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
  done
  for task in $("${ctr_[@]}" tasks ls -q 2>/dev/null); do
    "${ctr_[@]}" tasks delete -f "$task" >/dev/null 2>&1 || true
  done
  for task in $("${ctr_[@]}" containers ls -q 2>/dev/null); do
    "${ctr_[@]}" containers delete "$task" >/dev/null 2>&1 || true
  done
}

# After the node's processes stopped: no shim, mount, network namespace, bridge, iptables rule or cgroup
# of ours is left.
node_teardown() {
  local pid proc mount hierarchy
  for proc in /proc/[0-9]*; do
    [[ $(readlink "$proc/exe" 2>/dev/null) == */containerd-shim-runc-v2 ]] || continue
    tr '\0' '\n' <"$proc/cmdline" 2>/dev/null | grep -qF "$containerd_socket" || continue
    pid=${proc#/proc/}
    echo "cluster: stopping a leftover containerd shim (pid $pid)"
    terminate_pid "$pid" 5
  done
  # Mounts below .cluster/ (pod volumes, overlay root filesystems, network namespaces), deepest first.
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(awk -v dir="$cluster_dir/" 'index($5, dir) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  ip link delete "$pod_bridge" 2>/dev/null || true
  rm -rf "${cluster_dir:?}/cni/ipam"
  if [[ -x $cluster_bin/kube-proxy ]]; then
    "$cluster_bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  remove_kube_chains
  remove_node_firewall
  # The CNI bridge plugin turns IP forwarding on; put back what the host had before the node first ran.
  if [[ -f $cluster_run/ip_forward.orig ]]; then
    cat "$cluster_run/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward
    rm -f "$cluster_run/ip_forward.orig"
  fi
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d $hierarchy/kubepods ]] || continue
    find "$hierarchy/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  find /var/log/containers /var/log/pods -maxdepth 1 -lname "$cluster_dir/*" -delete 2>/dev/null || true
  rmdir /var/log/containers /var/log/pods 2>/dev/null || true  # only when empty
}
