# shellcheck shell=bash
# build_go_tool NAME MODULE PACKAGE VERSION_VAR: builds a tool the tests use (Helm, promtool) from the Go
# module pinned in hack/NAME/go.mod, into build/NAME/bin/ (or $<NAME>_BIN_DIR, NAME upper-cased), as the
# local cluster's components are built: CGO off, trimmed paths, the module's version stamped into
# VERSION_VAR (a -X linker flag). Go's build cache makes a rebuild with nothing changed take seconds.
# Prints the binary's path last.
build_go_tool() {
  local name=$1 module=$2 package=$3 version_var=$4
  local here root out_var out version start
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../$name" && pwd)
  root=$(cd "$here/../.." && pwd)
  out_var=$(echo "${name}_BIN_DIR" | tr '[:lower:]' '[:upper:]')
  out=${!out_var:-$root/build/$name/bin}
  mkdir -p "$out"
  version=$(cd "$here" && go list -m -f '{{.Version}}' "$module")
  start=$SECONDS
  echo "build-$name: ${package##*/} of $module $version" >&2
  (cd "$here" && CGO_ENABLED=0 go build -p "${GO_BUILD_PARALLELISM:-2}" -trimpath \
    -ldflags "-s -w -X $version_var=$version" -o "$out/${package##*/}" "$package")
  echo "build-$name: $out/${package##*/} ready in $((SECONDS - start)) s" >&2
  echo "$out/${package##*/}"
}
