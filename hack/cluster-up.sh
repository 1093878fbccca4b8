#!/usr/bin/env bash
# Starts the local Kubernetes cluster, state in .cluster/: the control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler built by hack/k8s/build.sh, each its own process on loopback) and,
# unless CLUSTER_NODE=0, one node (Debian's containerd with its own config and socket, the kubelet,
# kube-proxy, a CNI bridge; hack/lib/node.sh).
#
# Idempotent: a component already running with the wanted flags and healthy is left alone; one that is
# missing, unhealthy, running an outdated binary or other flags is (re)started. When a component fails
# to start, exits non-zero naming it and prints the tail of its log.
#
# Usage: hack/cluster-up.sh        (docs/cluster.md describes what runs where)
set -euo pipefail
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"
# shellcheck source=lib/node.sh
source "$(dirname "$0")/lib/node.sh"

started_at=$SECONDS
say() { echo "cluster-up: $*"; }
die() { echo "cluster-up: $*" >&2; exit 1; }

for bin in "${control_plane_components[@]}" kubelet kube-proxy kubectl; do
  [[ -x $cluster_bin/$bin ]] || die "$cluster_bin/$bin is missing: run 'make k8s-build' (hack/k8s/build.sh) first"
done
tools=(openssl curl ss flock setsid)
[[ $cluster_node == 1 ]] && tools+=("${node_tools[@]}")
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed: run 'make setup'"
done

lock_cluster_dir
mkdir -p "$cluster_pki" "$cluster_run" "$cluster_logs" "$cluster_dir/config" "$cluster_dir/etcd"
chmod 700 "$cluster_dir" "$cluster_pki" "$cluster_dir/etcd"

# ---------------------------------------------------------------------------------------------------
# Certificates and keys (Debian's openssl, ECDSA P-256). Each certificate is reissued when it is missing,
# expires within 30 days, was not signed by the current CA, or its subject/SANs changed (the host's
# address may change); pki_changed then makes every component restart on the new material.
pki_changed=0

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

# ensure_ca NAME COMMON_NAME: a self-signed CA, valid 10 years.
ensure_ca() {
  local ca=$cluster_pki/$1
  if [[ -f $ca.key && -f $ca.crt ]] && openssl x509 -in "$ca.crt" -noout -checkend 2592000 >/dev/null; then
    return
  fi
  say "creating the $1 certificate authority"
  new_key "$ca.key"
  openssl req -x509 -new -key "$ca.key" -sha256 -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$ca.crt" 2>/dev/null
  pki_changed=1
}

# ensure_cert NAME SUBJECT EXTENDED_KEY_USAGE [SAN] [CA]: a leaf certificate signed by CA (default: ca),
# valid one year.
ensure_cert() {
  local name=$1 subject=$2 eku=$3 san=${4:-} ca=$cluster_pki/${5:-ca} path=$cluster_pki/$1 spec
  spec="subject=$subject eku=$eku san=$san"
  if [[ -f $path.key && -f $path.crt && -f $path.spec && $(<"$path.spec") == "$spec" ]] &&
    openssl x509 -in "$path.crt" -noout -checkend 2592000 >/dev/null &&
    openssl verify -CAfile "$ca.crt" "$path.crt" >/dev/null 2>&1; then
    return
  fi
  say "issuing the $name certificate ($subject)"
  new_key "$path.key"
  local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
  [[ -n $san ]] && ext+=$'\n'"subjectAltName=$san"
  openssl req -new -key "$path.key" -subj "$subject" -out "$path.csr" 2>/dev/null
  openssl x509 -req -in "$path.csr" -CA "$ca.crt" -CAkey "$ca.key" -sha256 -days 365 \
    -set_serial "0x$(openssl rand -hex 16)" -extfile <(echo "$ext") -out "$path.crt" 2>/dev/null
  rm -f "$path.csr"
  echo "$spec" >"$path.spec"
  pki_changed=1
}

ensure_service_account_keys() {
  [[ -f $cluster_pki/sa.key && -f $cluster_pki/sa.pub ]] && return
  say "creating the service-account signing key pair"
  new_key "$cluster_pki/sa.key"
  openssl pkey -in "$cluster_pki/sa.key" -pubout -out "$cluster_pki/sa.pub"
  pki_changed=1
}

# The first non-loopback IPv4 address of this host, for the node and pods to reach the API server.
host_address() {
  ip -4 -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}'
}

ensure_pki() {
  local san="IP:127.0.0.1,DNS:localhost,IP:$kubernetes_service_ip,DNS:kubernetes,DNS:kubernetes.default"
  san+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  local host_ip; host_ip=$(host_address)
  [[ -n $host_ip ]] && san+=",IP:$host_ip"
  ensure_ca ca worker-operator-local-ca
  # The aggregation layer's front proxy has its own CA, so its client certificate cannot pass as a user.
  ensure_ca front-proxy-ca worker-operator-local-front-proxy-ca
  ensure_cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
  ensure_cert apiserver "/CN=kube-apiserver" serverAuth "$san"
  ensure_cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
  # The controller manager and scheduler use one certificate as API client and for their own HTTPS port.
  ensure_cert kube-controller-manager "/CN=system:kube-controller-manager" serverAuth,clientAuth \
    "IP:127.0.0.1,DNS:localhost"
  ensure_cert kube-scheduler "/CN=system:kube-scheduler" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"
  ensure_service_account_keys
  # The API server's client certificate for the kubelets (logs, exec, port-forward).
  ensure_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  local node_san="IP:127.0.0.1,DNS:localhost,DNS:$node_name"
  [[ -n $host_ip ]] && node_san+=",IP:$host_ip"
  ensure_cert kubelet "/O=system:nodes/CN=system:node:$node_name" serverAuth,clientAuth "$node_san"
  ensure_cert kube-proxy "/CN=system:kube-proxy" clientAuth
}

# write_kubeconfig FILE USER CERT_NAME: a kubeconfig for the local API server with the certificate embedded.
write_kubeconfig() {
  local file=$1 user=$2 cert=$cluster_pki/$3 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(base64 -w0 <"$cluster_pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$cert.crt")
    client-key-data: $(base64 -w0 <"$cert.key")
contexts:
- name: $user@local
  context: {cluster: local, user: $user}
current-context: $user@local
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$file"
}

# ---------------------------------------------------------------------------------------------------
# Component command lines (besides the binary). A running component whose command line differs is restarted.
component_args() {
  local pki=$cluster_pki config=$cluster_dir/config
  case $1 in
    etcd)
      # --unsafe-no-fsync: a throwaway development cluster trades crash durability for speed.
      args=(--name=local --data-dir="$cluster_dir/etcd"
        --listen-client-urls="http://127.0.0.1:$etcd_client_port" --advertise-client-urls="http://127.0.0.1:$etcd_client_port"
        --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port"
        --initial-cluster="local=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync=true --log-level=warn) ;;
    kube-apiserver)
      # shellcheck disable=SC2054 # the commas separate values inside flags (--authorization-mode=Node,RBAC)
      args=(--etcd-servers="http://127.0.0.1:$etcd_client_port" --secure-port="$apiserver_port"
        "${apiserver_address_args[@]}"
        --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt"
        --kubelet-client-key="$pki/apiserver-kubelet-client.key" --kubelet-certificate-authority="$pki/ca.crt"
        --kubelet-preferred-address-types=InternalIP,Hostname
        --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key"
        --client-ca-file="$pki/ca.crt" --cert-dir="$cluster_run/kube-apiserver"
        --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction
        --service-account-issuer=https://kubernetes.default.svc.cluster.local
        --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key"
        --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client
        --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group
        --requestheader-extra-headers-prefix=X-Remote-Extra-
        --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key"
        --service-cluster-ip-range="$service_cidr" --allow-privileged=true --profiling=false) ;;
    kube-controller-manager)
      # Client QPS 100 (default 20): a scale benchmark creating thousands of ReplicaSets and Pods then
      # measures the operator, not the controller manager's own client rate limit.
      args=(--kubeconfig="$config/kube-controller-manager.kubeconfig"
        --authentication-kubeconfig="$config/kube-controller-manager.kubeconfig"
        --authorization-kubeconfig="$config/kube-controller-manager.kubeconfig"
        --bind-address=127.0.0.1 --secure-port="$controller_manager_port"
        --tls-cert-file="$pki/kube-controller-manager.crt" --tls-private-key-file="$pki/kube-controller-manager.key"
        --client-ca-file="$pki/ca.crt" --leader-elect=false --use-service-account-credentials=true
        --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt"
        --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key"
        --service-cluster-ip-range="$service_cidr" --allocate-node-cidrs=true --cluster-cidr="$cluster_cidr"
        --node-cidr-mask-size=24 --profiling=false
        --kube-api-qps=100 --kube-api-burst=200) ;;
    kube-scheduler)
      args=(--kubeconfig="$config/kube-scheduler.kubeconfig"
        --authentication-kubeconfig="$config/kube-scheduler.kubeconfig"
        --authorization-kubeconfig="$config/kube-scheduler.kubeconfig"
        --bind-address=127.0.0.1 --secure-port="$scheduler_port"
        --tls-cert-file="$pki/kube-scheduler.crt" --tls-private-key-file="$pki/kube-scheduler.key"
        --client-ca-file="$pki/ca.crt" --leader-elect=false --profiling=false) ;;
    *) node_component_args "$1" ;;
  esac
}

start_timeout() {
  case $1 in kube-apiserver) echo 120 ;; *) echo 60 ;; esac
}

fail_component() {
  local component=$1 why=$2 log
  log=$(logfile_of "$component")
  {
    echo "cluster-up: $component $why"
    echo "cluster-up: last 40 lines of $log:"
    tail -n 40 "$log" | sed 's/^/    /'
  } >&2
  exit 1
}

# Leaves a component running and healthy with the wanted flags; prints what it did. Sets `started`.
started=0
ensure_component() {
  local component=$1 pid port listener log deadline
  local -a args
  component_args "$component"
  pid=$(owned_pid "$component")
  if [[ -n $pid ]]; then
    local why=""
    if [[ $(readlink "/proc/$pid/exe") == *" (deleted)" ]]; then
      why="its binary was rebuilt"
    elif [[ $(tr '\0' '\n' <"/proc/$pid/cmdline" | tail -n +2) != "$(printf '%s\n' "${args[@]}")" ]]; then
      why="its flags changed"
    elif ((pki_changed)) && [[ $component != etcd ]]; then
      why="its certificates changed"
    elif config_changed "$component"; then
      why="its configuration changed"
    elif ! component_healthy "$component"; then
      why="it is not healthy"
    fi
    if [[ -z $why ]]; then
      say "$component already running (pid $pid)"
      return
    fi
    say "restarting $component: $why"
    # Components started after this one depend on it: stop them first, last one first, so that it shuts
    # down without their open watches (the API server waits for those); their own turn starts them again.
    local i
    for ((i = ${#cluster_components[@]} - 1; i >= 0; i--)); do
      [[ ${cluster_components[i]} == "$component" ]] && break
      stop_component "${cluster_components[i]}" | sed 's/^cluster: /cluster-up: /'
    done
  fi
  stop_component "$component" | sed 's/^cluster: /cluster-up: /'

  for port in $(component_ports "$component"); do
    listener=$(port_listener "$port")
    [[ -z $listener ]] || die "cannot start $component: port $port is already in use ($listener); stop that process or set the CLUSTER_*_PORT variables (docs/cluster.md)"
  done

  log=$(logfile_of "$component")
  [[ -f $log ]] && mv -f "$log" "$log.1"
  echo "cluster-up: $(date -u +%FT%TZ) starting $(component_binary "$component") ${args[*]}" >"$log"
  say "starting $component"
  # setsid: the component leaves this shell's session and survives it; stdin closed, output to its log,
  # and the lock on the cluster directory not inherited.
  setsid "$(component_binary "$component")" "${args[@]}" </dev/null >>"$log" 2>&1 {cluster_lock_fd}>&- &
  pid=$!
  echo "$pid" >"$(pidfile_of "$component")"
  started=1

  deadline=$((SECONDS + $(start_timeout "$component")))
  until component_healthy "$component"; do
    kill -0 "$pid" 2>/dev/null || { rm -f "$(pidfile_of "$component")"; fail_component "$component" "exited while starting"; }
    if ((SECONDS >= deadline)); then
      terminate_pid "$pid" 5
      rm -f "$(pidfile_of "$component")"
      fail_component "$component" "was not healthy within $(start_timeout "$component") s (stopped it)"
    fi
    sleep 0.5
  done
  say "$component is up (pid $pid, $((SECONDS - started_at)) s)"
}

wait_for_default_service_account() {
  local deadline=$((SECONDS + 90))
  until "$kubectl_bin" --kubeconfig "$cluster_kubeconfig" -n default get serviceaccount default >/dev/null 2>&1; do
    ((SECONDS < deadline)) || {
      echo "cluster-up: the default ServiceAccount in namespace default did not appear within 90 s" >&2
      echo "cluster-up: last 40 lines of $(logfile_of kube-controller-manager):" >&2
      tail -n 40 "$(logfile_of kube-controller-manager)" | sed 's/^/    /' >&2
      exit 1
    }
    sleep 0.5
  done
}

# Loopback only without a node: 127.0.0.1 cannot be stored in the `kubernetes` Endpoints, so no endpoint
# reconciler. With a node, pods reach the API server through the `kubernetes` Service, so it listens on
# all addresses and advertises the host's; node_firewall admits only loopback and the pod bridge.
host_ip=$(host_address)
if [[ $cluster_node == 1 && -n $host_ip ]]; then
  apiserver_address_args=(--bind-address=0.0.0.0 --advertise-address="$host_ip")
else
  apiserver_address_args=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none)
fi

ensure_pki
write_kubeconfig "$cluster_dir/config/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
write_kubeconfig "$cluster_dir/config/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
write_kubeconfig "$cluster_kubeconfig" admin admin
if [[ $cluster_node == 1 ]]; then
  write_kubeconfig "$cluster_dir/config/kubelet.kubeconfig" "system:node:$node_name" kubelet
  write_kubeconfig "$cluster_dir/config/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  write_node_configs
  node_firewall
  node_bridge
fi

for component in "${cluster_components[@]}"; do
  ensure_component "$component"
  if [[ $component == containerd ]]; then ensure_sandbox_image; fi
done
wait_for_default_service_account
[[ $cluster_node == 1 ]] && wait_for_node_ready

if ((started)); then
  say "cluster ready in $((SECONDS - started_at)) s"
else
  say "already up and healthy; nothing to do"
fi
cat <<EOF
cluster-up: use it with
    export KUBECONFIG=$cluster_kubeconfig
    $kubectl_bin get --raw /readyz
  (kubectl $("$kubectl_bin" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -n1) is in $cluster_bin; logs in $cluster_logs; stop with 'make cluster-down')
EOF
