#!/usr/bin/env bash
# Where the wasm's bytes go: twiggy on a copy of the shipped wasm that keeps its function
# names (bench/named-wasm.sh; scripts/build.sh strips them from what is deployed).
# twiggy is installed once into the per-user tool cache, like worker-build; when it cannot
# be installed the script says so and exits 3.
#   bench/twiggy.sh [rustc wasm] [shipped wasm] [N]
# With BY_CRATE=<file>, also writes the bytes by crate there (bench/wasm-by-crate.mjs).
# With DIFF_FROM="<rustc wasm> <shipped wasm>" (another build, e.g. the same set without a
# feature), also what each item adds against it, and the bytes by crate of both: where a
# feature's bytes go (bench/.features/ holds each set's build).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-target/wasm32-unknown-unknown/release/sms_worker.wasm}"
SHIPPED="${2:-build/index_bg.wasm}"
N="${3:-15}"
TWIGGY_VERSION=0.8.0
TOOLS="${SMS_WORKER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/sms-conversation-worker}"
ROOT_DIR="$TOOLS/twiggy-$TWIGGY_VERSION"
if [ ! -x "$ROOT_DIR/bin/twiggy" ]; then
  echo "[bench] installing twiggy $TWIGGY_VERSION into $ROOT_DIR (about 2 minutes, once)" >&2
  if ! timeout 600 cargo install twiggy --version "$TWIGGY_VERSION" --locked --root "$ROOT_DIR" >&2; then
    echo "twiggy could not be installed; no size profile" >&2
    exit 3
  fi
fi
T="$ROOT_DIR/bin/twiggy"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sizes=$(bash bench/named-wasm.sh "$SRC" "$SHIPPED" "$TMP/named.wasm")
echo "## $SHIPPED, profiled through a copy with names: $sizes"
echo
echo "## twiggy top -n $N (the names section itself left out)"
"$T" top -n $((N + 1)) "$TMP/named.wasm" | grep -v '"function names" subsection'
echo
if [ -n "${BY_CRATE:-}" ]; then
  "$T" top -n 1000000 -f csv "$TMP/named.wasm" | node bench/wasm-by-crate.mjs 25 > "$BY_CRATE"
fi
if [ -n "${DIFF_FROM:-}" ]; then
  read -r base_src base_shipped <<< "$DIFF_FROM"
  bash bench/named-wasm.sh "$base_src" "$base_shipped" "$TMP/base.wasm" > /dev/null
  echo "## twiggy diff -n $N against $base_shipped (the names section left out)"
  "$T" diff -n "$N" "$TMP/base.wasm" "$TMP/named.wasm" | grep -v '"function names" subsection'
  echo
  echo "## bytes by crate, $base_shipped then $SHIPPED"
  "$T" top -n 1000000 -f csv "$TMP/base.wasm" | node bench/wasm-by-crate.mjs "$N"
  echo
  "$T" top -n 1000000 -f csv "$TMP/named.wasm" | node bench/wasm-by-crate.mjs "$N"
  echo
fi
echo "## twiggy dominators (items retaining at least 2% of the copy with names)"
"$T" dominators -r 2000 "$TMP/named.wasm" | awk -F'┊' 'NR <= 2 || $2 + 0 >= 2.0'
