# shellcheck shell=bash disable=SC2034 # a library: its variables are for the scripts that source it
# Shared by hack/cluster-up.sh, hack/cluster-down.sh and hack/tests/: where the local cluster keeps its
# state, which ports its components listen on, and how to tell that a process is one cluster-up started.
# Source it; it defines variables and functions only.

cluster_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster_dir=${CLUSTER_DIR:-$cluster_root/.cluster}
cluster_bin=${K8S_BIN_DIR:-$cluster_root/build/k8s/bin}
cluster_pki=$cluster_dir/pki
cluster_run=$cluster_dir/run
cluster_logs=$cluster_dir/logs
cluster_kubeconfig=$cluster_dir/kubeconfig
kubectl_bin=$cluster_bin/kubectl

# The project's version (VERSION) and its images, <repository>/<name>:<version>: what the binaries'
# --version prints and the operator's default worker image (wo::image_of, common/include/wo/version.h.in).
project_version=$(<"$cluster_root/VERSION")
image_repository=localhost/worker-operator
project_image() { echo "$image_repository/$1:$project_version"; }
# The commit of the sources, for the images' revision label and the release files: "-dirty" when tracked
# files have changes, "unknown" outside a git checkout.
project_commit() {
  local commit
  commit=$(git -C "$cluster_root" rev-parse HEAD 2>/dev/null) || { echo unknown; return; }
  git -C "$cluster_root" diff --quiet HEAD 2>/dev/null || commit+=-dirty
  echo "$commit"
}

# Loopback ports. 8080/8081 belong to the operator and the worker; these are the upstream defaults,
# overridable when another cluster on the machine already holds them.
etcd_client_port=${CLUSTER_ETCD_PORT:-2379}
etcd_peer_port=${CLUSTER_ETCD_PEER_PORT:-2380}
apiserver_port=${CLUSTER_APISERVER_PORT:-6443}
controller_manager_port=${CLUSTER_CONTROLLER_MANAGER_PORT:-10257}
scheduler_port=${CLUSTER_SCHEDULER_PORT:-10259}

service_cidr=10.96.0.0/16
kubernetes_service_ip=10.96.0.1
cluster_cidr=10.244.0.0/16

kubelet_port=${CLUSTER_KUBELET_PORT:-10250}
kubelet_healthz_port=${CLUSTER_KUBELET_HEALTHZ_PORT:-10248}
kube_proxy_metrics_port=${CLUSTER_KUBE_PROXY_METRICS_PORT:-10249}
kube_proxy_healthz_port=${CLUSTER_KUBE_PROXY_HEALTHZ_PORT:-10256}

# The node (issue: real pods): containerd with its own config/socket/state under .cluster/, the kubelet,
# kube-proxy, and a CNI bridge. CLUSTER_NODE=0 runs the control plane alone.
cluster_node=${CLUSTER_NODE:-1}
node_name=$(hostname | tr '[:upper:]' '[:lower:]')
containerd_dir=$cluster_dir/containerd
containerd_socket=$containerd_dir/containerd.sock
pod_bridge=wo-cni0
pod_cidr=10.244.0.0/24
pod_gateway=10.244.0.1
sandbox_image=localhost/pause:local

# Components in start order; cluster-down stops them in reverse.
control_plane_components=(etcd kube-apiserver kube-controller-manager kube-scheduler)
node_components=(containerd kubelet kube-proxy)
cluster_components=("${control_plane_components[@]}")
[[ $cluster_node == 1 ]] && cluster_components+=("${node_components[@]}")
# cluster-down stops every component that may run, whatever CLUSTER_NODE says now.
all_components=("${control_plane_components[@]}" "${node_components[@]}")

# The ports each component listens on (all must be free before it starts).
component_ports() {
  case $1 in
    etcd) echo "$etcd_client_port $etcd_peer_port" ;;
    kube-apiserver) echo "$apiserver_port" ;;
    kube-controller-manager) echo "$controller_manager_port" ;;
    kube-scheduler) echo "$scheduler_port" ;;
    containerd) echo "" ;;
    kubelet) echo "$kubelet_port $kubelet_healthz_port" ;;
    kube-proxy) echo "$kube_proxy_metrics_port $kube_proxy_healthz_port" ;;
    *) echo "cluster: unknown component $1" >&2; return 1 ;;
  esac
}

# The executable a component runs: ours from build/k8s/bin, except Debian's containerd.
component_binary() {
  case $1 in
    containerd) echo /usr/bin/containerd ;;
    *) echo "$cluster_bin/$1" ;;
  esac
}

pidfile_of() { echo "$cluster_run/$1.pid"; }
logfile_of() { echo "$cluster_logs/$1.log"; }

# Prints the pid recorded for a component when that pid is alive and really runs the component's
# binary from this checkout (a rebuilt binary shows as "<path> (deleted)" and still counts); else nothing.
owned_pid() {
  local component=$1 pidfile pid exe
  pidfile=$(pidfile_of "$component")
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
  [[ ${exe% (deleted)} == "$(component_binary "$component")" ]] && echo "$pid"
  return 0
}

# Pids of processes running one of our component binaries with this cluster directory on their command
# line but not recorded in a pidfile (e.g. the pidfile was removed by hand while they ran).
stray_pids() {
  local component=$1 pid exe recorded binary
  recorded=$(owned_pid "$component")
  binary=$(component_binary "$component")
  for pid in $(pgrep -f -- "$cluster_dir/"); do
    [[ $pid == "$recorded" ]] && continue
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
    [[ ${exe% (deleted)} == "$binary" ]] && echo "$pid"
  done
  return 0
}

# Describes who listens on a loopback/any TCP port, or prints nothing when the port is free.
port_listener() {
  ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n1
}

# Sends SIGTERM, waits up to $2 seconds for the process to exit, then SIGKILLs it.
terminate_pid() {
  local pid=$1 grace=${2:-15} deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "cluster: pid $pid did not exit within ${grace}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
}

# Stops a component started by cluster-up (recorded or stray) and says so; silent when none runs.
stop_component() {
  local component=$1 pid
  for pid in $(owned_pid "$component") $(stray_pids "$component"); do
    echo "cluster: stopping $component (pid $pid)"
    terminate_pid "$pid" "${CLUSTER_STOP_GRACE:-15}"
  done
  rm -f "$(pidfile_of "$component")"
}

# Holds an exclusive lock on the cluster directory for the rest of the calling script, so that two
# cluster-up/cluster-down runs (a developer and a test fixture) never interleave.
lock_cluster_dir() {
  mkdir -p "$cluster_run"
  exec {cluster_lock_fd}>"$cluster_run/lock"
  if ! flock -n "$cluster_lock_fd"; then
    echo "cluster: waiting for another cluster-up/cluster-down to finish"
    flock -w 600 "$cluster_lock_fd" || { echo "cluster: gave up waiting for $cluster_run/lock" >&2; exit 1; }
  fi
}

# Succeeds when the component answers its health endpoint (the API server: /readyz).
component_healthy() {
  local -a curl_tls=(--cacert "$cluster_pki/ca.crt" --cert "$cluster_pki/admin.crt" --key "$cluster_pki/admin.key")
  case $1 in
    etcd) curl -fsS --max-time 3 "http://127.0.0.1:$etcd_client_port/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver) [[ $(curl -fsS --max-time 3 "${curl_tls[@]}" "https://127.0.0.1:$apiserver_port/readyz" 2>/dev/null) == ok ]] ;;
    kube-controller-manager) [[ $(curl -fsS --max-time 3 "${curl_tls[@]}" "https://127.0.0.1:$controller_manager_port/healthz" 2>/dev/null) == ok ]] ;;
    kube-scheduler) [[ $(curl -fsS --max-time 3 "${curl_tls[@]}" "https://127.0.0.1:$scheduler_port/healthz" 2>/dev/null) == ok ]] ;;
    containerd) ctr --address "$containerd_socket" --timeout 3s version >/dev/null 2>&1 ;;
    kubelet) [[ $(curl -fsS --max-time 3 "http://127.0.0.1:$kubelet_healthz_port/healthz" 2>/dev/null) == ok ]] ;;
    kube-proxy) curl -fsS --max-time 3 "http://127.0.0.1:$kube_proxy_healthz_port/healthz" >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

# Succeeds when every component runs from this checkout and is healthy.
cluster_running() {
  local component
  for component in "${cluster_components[@]}"; do
    [[ -n $(owned_pid "$component") ]] && component_healthy "$component" || return 1
  done
}
