#!/usr/bin/env bash
# Fuzz the WorkerJob API's parsers (JSON → WorkerJob, YAML → JSON, quantities) with libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer, for a bounded time.
#   hack/fuzz.sh                 # FUZZ_SECONDS (default 60), corpus seeded from the samples
#   FUZZ_SECONDS=600 hack/fuzz.sh
# Exits non-zero when the fuzzer finds a crash, leak, timeout or sanitizer report; the input that
# triggered it is left in $BUILD_DIR/fuzz/ (crash-*, leak-*, timeout-*) for a regression test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
OUT="$BUILD_DIR/fuzz"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
CXX_FUZZ="${CXX_FUZZ:-clang++}"

command -v "$CXX_FUZZ" >/dev/null || { echo "fuzz.sh: $CXX_FUZZ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$OUT/corpus"

# Built directly, not through CMake: the project's build is g++, and libFuzzer needs clang.
sources=(
  operator/api/fuzz/parse_fuzzer.cpp
  operator/api/json_text.cpp
  operator/api/names.cpp
  operator/api/quantity.cpp
  operator/api/tests/workerjob_json.cpp
  operator/api/workerjob.cpp
  operator/api/yaml_json.cpp
  operator/workerjob/render.cpp
)
binary="$OUT/parse_fuzzer"
newest_source="$(cd "$ROOT" && ls -t "${sources[@]}" operator/api/*.h operator/workerjob/*.h | head -1)"
if [[ ! -x "$binary" || "$ROOT/$newest_source" -nt "$binary" || "$0" -nt "$binary" ]]; then
  echo "fuzz.sh: building $binary"
  (cd "$ROOT" && nice "$CXX_FUZZ" -std=c++20 -g -O1 \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_TURN_OFF_PLATFORM_STRING -Ioperator \
    "${sources[@]}" -o "$binary" \
    -lcpprest -lyaml-cpp -lssl -lcrypto -lpthread)
fi

# Seeds: every sample and test manifest, as YAML and as the JSON the API server would send.
for f in "$ROOT"/manifests/samples/*.yaml "$ROOT"/operator/workerjob/tests/testdata/*.yaml; do
  cp "$f" "$OUT/corpus/$(basename "$f")"
done
for f in "$ROOT"/operator/workerjob/tests/golden/*.json; do
  cp "$f" "$OUT/corpus/golden-$(basename "$f")"
done

echo "fuzz.sh: fuzzing for ${FUZZ_SECONDS}s"
cd "$OUT"
# -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory blow-ups.
"$binary" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$OUT/" corpus
echo "fuzz.sh: no crashes in ${FUZZ_SECONDS}s"
