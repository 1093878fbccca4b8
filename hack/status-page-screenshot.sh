#!/usr/bin/env bash
# Makes docs/status-page.png: a screenshot (1200x900) of the worker's status page at /, taken by headless
# Chromium at the end of the browser test (worker/tests/status_page_browser_test.cpp), which starts a
# throwaway Postgres and the worker binary with a queue job, some records completed and some failed.
# Needs a configured build (BUILD_DIR, default build) and chromium (hack/setup.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
cd "$root"
command -v chromium >/dev/null || { echo "status-page-screenshot: chromium is not installed (hack/setup.sh)" >&2; exit 1; }
cmake --build "$build" --target worker_status_page_tests
out="$root/docs/status-page.png"
rm -f "$out"
WO_STATUS_PAGE_SCREENSHOT="$out" "$build/tests/worker_status_page_tests" \
  --gtest_filter='StatusPageBrowserTest.*' --gtest_brief=1
[[ -s $out ]] || { echo "status-page-screenshot: no screenshot was written to $out" >&2; exit 1; }
echo "status-page-screenshot: wrote $out"
