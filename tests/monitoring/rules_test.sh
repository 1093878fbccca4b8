#!/usr/bin/env bash
# The alerting rules (manifests/monitoring/rules.yaml) with the real promtool (hack/promtool): the rule file
# is extracted from the PrometheusRule's spec, `promtool check rules` validates it, and `promtool test
# rules` runs rules_test.yaml, where every alert fires on the series that should fire it and stays quiet on
# the others.
set -euo pipefail
root=${WO_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
promtool=${PROMTOOL_BIN_DIR:-$root/build/promtool/bin}/promtool
# Under ctest the fixture `promtool` has built it; run alone, build it here (seconds from Go's cache).
[[ -x $promtool ]] || "$root/hack/promtool/build.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
yq -y .spec "$root/manifests/monitoring/rules.yaml" >"$work/rules.yaml"
cp "$root/tests/monitoring/rules_test.yaml" "$work/"
"$promtool" check rules "$work/rules.yaml"
(cd "$work" && "$promtool" test rules rules_test.yaml)
echo "rules-test: promtool check rules and test rules passed"
