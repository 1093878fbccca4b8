#!/usr/bin/env bash
# make demo: from nothing to a running system. The Makefile has already run setup, build, cluster-up
# and images; this script adds the rest: a Postgres on the host for the jobs, the operator deployed in
# the cluster, the proposal's three sample WorkerJobs, then a live view of records processed per job.
#
#   hack/demo.sh          bring the demo up (idempotent)
#   hack/demo.sh --down   remove the samples, the operator and the demo's Postgres (the cluster stays)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster.sh
source hack/lib/cluster.sh

kc() { "$root/build/k8s/bin/kubectl" --kubeconfig "$root/.cluster/kubeconfig" "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
# Not under .cluster/, which is private to root (it holds keys): the postgres user must reach this.
pg_dir=$root/.demo/postgres
pg_port=${DEMO_POSTGRES_PORT:-55432}
pg_password_file=$pg_dir/password
tables=(campaigns_sync_registry campaigns_reconciler campaigns_spec_expire)

pg() { runuser -u postgres -- "$pg_bin/$1" "${@:2}"; }
psql_demo() { runuser -u postgres -- psql -h "$pg_dir" -p "$pg_port" -d campaigns -tA "$@"; }

postgres_up() {
  if [[ ! -f $pg_dir/data/PG_VERSION ]]; then
    mkdir -p "$pg_dir"
    chmod 755 "$root/.demo"
    chown postgres "$pg_dir"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pg_password_file"
    pg initdb -D "$pg_dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    # Pods reach the host at the pod bridge's gateway; only the pod network may connect, with a password.
    cat >> "$pg_dir/data/pg_hba.conf" <<HBA
host all all ${pod_cidr} scram-sha-256
HBA
  fi
  if pg pg_ctl -D "$pg_dir/data" status >/dev/null 2>&1; then
    echo "demo postgres: already running on port $pg_port"
  else
    pg pg_ctl -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w \
      -o "-p $pg_port -k $pg_dir -c listen_addresses='127.0.0.1,${pod_gateway}'" start >/dev/null
    echo "demo postgres: started on 127.0.0.1 and ${pod_gateway}, port $pg_port"
  fi
  # Postgres skips an address it cannot bind (the pod bridge's, when it did not exist at its start):
  # then pods could not connect. Restart it once the address is there.
  if [[ -z $(ss -Hltn "src $pod_gateway:$pg_port") ]]; then
    echo "demo postgres: not listening on ${pod_gateway}:$pg_port; restarting it"
    pg pg_ctl -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w -m fast \
      -o "-p $pg_port -k $pg_dir -c listen_addresses='127.0.0.1,${pod_gateway}'" restart >/dev/null
    [[ -n $(ss -Hltn "src $pod_gateway:$pg_port") ]] || {
      echo "demo: Postgres cannot listen on ${pod_gateway}:$pg_port (see $pg_dir/postgres.log)" >&2
      exit 1
    }
  fi
  runuser -u postgres -- psql -h "$pg_dir" -p "$pg_port" -d postgres -tAq \
    -c "ALTER USER postgres PASSWORD '$(cat "$pg_password_file")'" >/dev/null
  if [[ -z $(runuser -u postgres -- psql -h "$pg_dir" -p "$pg_port" -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = 'campaigns'") ]]; then
    runuser -u postgres -- createdb -h "$pg_dir" -p "$pg_port" campaigns
  fi
}

down() {
  step "removing the sample WorkerJobs, the operator and the demo's Postgres"
  kc delete -f manifests/samples/ --ignore-not-found --wait=true || true
  [[ -x hack/undeploy.sh ]] && hack/undeploy.sh || true
  if [[ -f $pg_dir/data/PG_VERSION ]]; then
    pg pg_ctl -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  echo "demo: down (the cluster is still up: make cluster-down stops it)"
}

[[ ${1:-} == --down ]] && { down; exit 0; }

step "Postgres on the host, for the jobs (reachable from pods at ${pod_gateway}:${pg_port})"
postgres_up

step "the operator, deployed in the cluster (two replicas, one leader)"
hack/deploy.sh

step "the proposal's three jobs as WorkerJobs (manifests/samples/), with their database Secret"
kc apply -f manifests/samples/00-namespace.yaml
kc -n campaigns create secret generic campaigns-database \
  --from-literal=url="postgresql://postgres:$(cat "$pg_password_file")@${pod_gateway}:${pg_port}/campaigns" \
  --dry-run=client -o yaml | kc apply -f -
kc apply -f manifests/samples/
echo "waiting until every WorkerJob is Ready (pods started, /readyz ok)..."
if ! kc -n campaigns wait --for=condition=Ready wj --all --timeout=240s; then
  kc -n campaigns get wj,pods
  echo "demo: not every WorkerJob became Ready; 'kubectl -n campaigns describe wj' says why" >&2
  exit 1
fi
kc -n campaigns get wj

step "records processed per job (live, 30 s; each job enqueues 5 records a second and processes them)"
printf '%-10s' "time"; for t in "${tables[@]}"; do printf '%26s' "$t"; done; echo
for _ in $(seq 1 10); do
  printf '%-10s' "$(date +%H:%M:%S)"
  for t in "${tables[@]}"; do
    n=$(psql_demo -c "SELECT count(*) FROM $t WHERE state = 'completed'" 2>/dev/null || echo "-")
    printf '%26s' "$n completed"
  done
  echo
  sleep 3
done

cat <<NEXT

The demo is up. Try next (KUBECONFIG=$root/.cluster/kubeconfig, kubectl at build/k8s/bin/kubectl):
  kubectl -n campaigns get wj,deploy,pods               the jobs, each in its own Deployment and pod
  kubectl -n campaigns delete pod -l worker.dev/job=campaigns.reconciler
                                                        kill a job's pod: Kubernetes replaces it, the others run on
  kubectl apply -f hack/demo/leaky-workerjob.yaml       a job that leaks memory: it is OOMKilled at its 64Mi
                                                        limit and 'kubectl -n campaigns get wj' shows STATUS OOMKilled,
                                                        while the three jobs above keep processing
  kubectl -n campaigns edit wj campaigns-reconciler     change resources or config and watch the pods roll
  kubectl -n campaigns exec deploy/campaigns-reconciler -- worker queue stats
                                                        the job's queue: counts by state, lag, throughput
  kubectl -n campaigns port-forward deploy/campaigns-reconciler 8080:http
                                                        then open http://localhost:8080/ : the job's status page
                                                        (counts, lag, throughput chart, last failures; read-only)
  kubectl -n worker-operator-system logs deploy/worker-operator

Tear down: hack/demo.sh --down (samples, operator, Postgres), then make cluster-down (or make cluster-wipe).
NEXT
