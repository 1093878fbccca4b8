#!/usr/bin/env bash
# make lint: shellcheck over the project's shell scripts, then clang-format check and clang-tidy over its
# C++ sources.
# make fmt:  hack/lint.sh --fix rewrites the sources with clang-format.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.cpp' '*.h' | grep -Ev '^(build|hack/k8s)/' | sort)

if [[ ${1:-} == --fix ]]; then
  clang-format -i "${sources[@]}"
  echo "fmt: formatted ${#sources[@]} files"
  exit 0
fi

build_dir=${1:-build}
# Shell: hack/, the test fixtures and CI. -P SCRIPTDIR follows `source` relative to each script; warnings
# and errors fail (style and info notes do not).
mapfile -t scripts < <(git ls-files -co --exclude-standard -- '*.sh' '.ci/run' | grep -Ev '^build/' | sort)
echo "lint: shellcheck (${#scripts[@]} scripts)"
shellcheck -x -P SCRIPTDIR -S warning "${scripts[@]}"

echo "lint: clang-format check (${#sources[@]} files)"
clang-format --dry-run --Werror "${sources[@]}"

[[ -f $build_dir/compile_commands.json ]] || { echo "lint: no $build_dir/compile_commands.json; run make configure" >&2; exit 1; }
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '\.cpp$' | grep -v '/fuzz/')
echo "lint: clang-tidy (${#units[@]} translation units, $(nproc) at a time)"
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet 2> >(grep -v 'warnings generated' >&2)
echo "lint: ok"
