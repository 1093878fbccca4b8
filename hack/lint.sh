#!/usr/bin/env bash
# make lint:         shellcheck over the project's shell scripts, then clang-format check and clang-tidy
#                    over its C++ sources (about 17 minutes on two cores).
# make lint-quick:   hack/lint.sh --quick BUILD_DIR: shellcheck and the clang-format check only (seconds;
#                    CI runs it).
# make lint-changed: hack/lint.sh --changed BUILD_DIR: the quick checks, then clang-tidy over the .cpp
#                    files changed since LINT_BASE (default: the merge base with origin/main, else HEAD~1),
#                    committed or not, and the .cpp files beside changed headers.
# make fmt:          hack/lint.sh --fix rewrites the sources with clang-format.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.cpp' '*.h' | grep -Ev '^(build|hack/k8s)/' | sort)

if [[ ${1:-} == --fix ]]; then
  clang-format -i "${sources[@]}"
  echo "fmt: formatted ${#sources[@]} files"
  exit 0
fi

mode=full
case ${1:-} in
  --quick) mode=quick; shift ;;
  --changed) mode=changed; shift ;;
esac
build_dir=${1:-build}
# Shell: hack/, the test fixtures and CI. -P SCRIPTDIR follows `source` relative to each script; warnings
# and errors fail (style and info notes do not).
mapfile -t scripts < <(git ls-files -co --exclude-standard -- '*.sh' '.ci/run' | grep -Ev '^build/' | sort)
echo "lint: shellcheck (${#scripts[@]} scripts)"
shellcheck -x -P SCRIPTDIR -S warning "${scripts[@]}"

echo "lint: clang-format check (${#sources[@]} files)"
clang-format --dry-run --Werror "${sources[@]}"
if [[ $mode == quick ]]; then
  echo "lint: quick checks ok"
  exit 0
fi

[[ -f $build_dir/compile_commands.json ]] || { echo "lint: no $build_dir/compile_commands.json; run make configure" >&2; exit 1; }
mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '\.cpp$' | grep -v '/fuzz/')
if [[ $mode == changed ]]; then
  base=${LINT_BASE:-$(git merge-base HEAD origin/main 2>/dev/null || git rev-parse HEAD~1)}
  mapfile -t changed < <({ git diff --name-only "$base" -- '*.cpp' '*.h'; git ls-files -o --exclude-standard -- '*.cpp' '*.h'; } | sort -u)
  mapfile -t units < <(
    for unit in "${units[@]}"; do
      for file in "${changed[@]}"; do
        # A changed .cpp, or the .cpp beside a changed header.
        if [[ $unit == "$file" || $unit == "${file%.h}.cpp" ]]; then echo "$unit"; break; fi
      done
    done)
  echo "lint: changed since $(git rev-parse --short "$base"): ${#changed[@]} files"
  if [[ ${#units[@]} -eq 0 ]]; then
    echo "lint: ok (no translation unit changed)"
    exit 0
  fi
fi
echo "lint: clang-tidy (${#units[@]} translation units, $(nproc) at a time)"
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet 2> >(grep -v 'warnings generated' >&2)
echo "lint: ok"
