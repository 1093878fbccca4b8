#!/usr/bin/env bash
# RBAC is enforced: a ServiceAccount token without rights gets 403; after a RoleBinding grants it the
# right, the same request succeeds.
source "$(dirname "$0")/lib.sh"
use_test_namespace

kc -n "$ns" create serviceaccount nobody >/dev/null
token=$(kc -n "$ns" create token nobody --duration=10m)
url="https://127.0.0.1:$apiserver_port/api/v1/namespaces/$ns/pods"
http_status() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$cluster_pki/ca.crt" -H "Authorization: Bearer $token" "$url"
}

expect_eq "HTTP status of GET pods with a token without rights" 403 "$(http_status)"

kc -n "$ns" create role pod-reader --verb=list --resource=pods >/dev/null
kc -n "$ns" create rolebinding nobody-reads-pods --role=pod-reader --serviceaccount="$ns:nobody" >/dev/null
status_is_200() { local s; s=$(http_status); [[ $s == 200 ]] || { echo "HTTP $s"; return 1; }; }
wait_until "the same token may list pods once a RoleBinding allows it" 30 status_is_200
