#!/usr/bin/env bash
# One version: the VERSION file, both binaries' --version, the operator's default worker image, the
# operator image in manifests/operator.yaml and the Helm chart's version and appVersion all say the same
# (hack/set-version.sh changes them together).
#   version_in_step.sh BIN_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=$1
version=$(<"$root/VERSION")
fail=0
expect_contains() {  # what, haystack, needle
  if [[ $2 == *"$3"* ]]; then
    echo "ok: $1 has $3"
  else
    echo "FAIL: $1 should contain '$3' but is: $2" >&2
    fail=1
  fi
}
expect_contains "worker --version" "$("$bin_dir/worker" --version)" "worker $version (commit "
expect_contains "worker-operator --version" "$("$bin_dir/worker-operator" --version)" "worker-operator $version (commit "
expect_contains "worker-operator --help (default --worker-image)" "$("$bin_dir/worker-operator" --help)" \
  "localhost/worker-operator/worker:$version"
expect_contains "manifests/operator.yaml" "$(grep 'image: ' "$root/manifests/operator.yaml")" \
  "image: localhost/worker-operator/operator:$version"
expect_contains "charts/worker-operator/Chart.yaml" "$(grep -E '^(version|appVersion):' "$root/charts/worker-operator/Chart.yaml")" \
  "version: $version"
expect_contains "charts/worker-operator/Chart.yaml" "$(grep -E '^appVersion:' "$root/charts/worker-operator/Chart.yaml")" \
  "appVersion: \"$version\""
if grep -qE -- '^[[:space:]]*- --worker-image' "$root/manifests/operator.yaml"; then
  echo "FAIL: manifests/operator.yaml sets --worker-image: the default (the worker of the operator's own version) is the point" >&2
  fail=1
fi
exit "$fail"
