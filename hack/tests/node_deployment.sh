#!/usr/bin/env bash
# A Deployment of a locally built image reaches Ready on the node; kubectl logs and kubectl exec work.
source "$(dirname "$0")/lib.sh"
use_test_namespace

# The image's tag is not :latest, so the pull policy is IfNotPresent: the local image is used, never pulled.
kc -n "$ns" create deployment probe --image="$probe_image" --replicas=2 -- \
  bash -c 'echo hello from $HOSTNAME; cat /etc/probe-build; exec sleep infinity' >/dev/null
ready_replicas() {
  local n; n=$(kc -n "$ns" get deployment probe -o jsonpath='{.status.readyReplicas}')
  [[ $n == 2 ]] || { echo "readyReplicas=${n:-0}"; return 1; }
}
wait_until "Deployment probe has 2 ready replicas" 120 ready_replicas

pod=$(kc -n "$ns" get pods -l app=probe -o jsonpath='{.items[0].metadata.name}')
logs_say_built() { kc -n "$ns" logs "$pod" | grep -q "built by hack/images.sh"; }
wait_until "kubectl logs $pod shows the container's output" 30 logs_say_built
expect_eq "kubectl exec $pod -- cat /etc/probe-build" "built by hack/images.sh" "$(kc -n "$ns" exec "$pod" -- cat /etc/probe-build)"
expect_eq "kubectl exec $pod -- hostname" "$pod" "$(kc -n "$ns" exec "$pod" -- hostname)"
