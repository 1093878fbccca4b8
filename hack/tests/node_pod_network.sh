#!/usr/bin/env bash
# A pod reaches the API server through the `kubernetes` Service with its service account (in-cluster
# configuration), and a Postgres server on the host through the pod bridge's gateway address.
source "$(dirname "$0")/lib.sh"
use_test_namespace

# A throwaway Postgres on the host, listening on the pod bridge's gateway only.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
pg_dir=$(mktemp -d /tmp/hacktest-pg.XXXXXX)
pg_port=$((20000 + $$ % 10000))
chown postgres "$pg_dir"
trap 'runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"; kc delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" --auth=trust -U postgres >/dev/null
echo "host all all $pod_cidr trust" >>"$pg_dir/data/pg_hba.conf"
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-c listen_addresses=$pod_gateway -p $pg_port -k $pg_dir" start >/dev/null
echo "host Postgres on $pod_gateway:$pg_port"

kc -n "$ns" create serviceaccount lister >/dev/null
kc -n "$ns" create role pod-lister --verb=list --resource=pods >/dev/null
kc -n "$ns" create rolebinding lister --role=pod-lister --serviceaccount="$ns:lister" >/dev/null
probe_pod client 128Mi 250m "exec sleep infinity" |
  sed 's/^spec:$/spec:\n  serviceAccountName: lister/' | kc -n "$ns" apply -f - >/dev/null
wait_until "pod client is Ready" 120 pod_ready client

sa=/var/run/secrets/kubernetes.io/serviceaccount
status=$(kc -n "$ns" exec client -- bash -c "curl -sS -o /dev/null -w '%{http_code}' --cacert $sa/ca.crt \
  -H \"Authorization: Bearer \$(cat $sa/token)\" \
  https://\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$ns/pods")
expect_eq "HTTP status of listing pods from the pod via the kubernetes Service" 200 "$status"

answer=$(kc -n "$ns" exec client -- psql -h "$pod_gateway" -p "$pg_port" -U postgres -tAc "select 40 + 2")
expect_eq "psql from the pod to the host's Postgres" 42 "$answer"
