#!/usr/bin/env bash
# Sets the project's version: the VERSION file (which CMake, the images and the binaries' --version read),
# the operator's image tag in manifests/operator.yaml and the chart's version and appVersion, the places
# YAML cannot read VERSION from.
# The test `version_in_step` fails when the two disagree.
#
# Usage: hack/set-version.sh 0.2.0
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  { echo "usage: hack/set-version.sh VERSION (a semantic version such as 0.2.0 or 0.2.0-rc.1), not '$version'" >&2; exit 2; }
echo "$version" >"$root/VERSION"
sed -i -E "s#(image: localhost/worker-operator/operator:)[^[:space:]]+#\\1$version#" "$root/manifests/operator.yaml"
sed -i -E "s#^version: .*#version: $version#; s#^appVersion: .*#appVersion: \"$version\"#" "$root/charts/worker-operator/Chart.yaml"
echo "set-version: VERSION, manifests/operator.yaml and the chart now say $version (rebuild: make build images)"
