#!/usr/bin/env bash
# A copy of a shipped worker wasm WITH its function names, for twiggy and the CPU profile:
# scripts/build.sh's last steps (wasm-bindgen, then wasm-opt -Oz, here with --debuginfo) re-run
# on the same rustc output. Fails unless stripping the copy gives back the shipped size (within
# 1 %: see below).
#   bench/named-wasm.sh <rustc wasm> <shipped wasm> <out.wasm>
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --print-env)"
SRC=$1 SHIPPED=$2 OUT_WASM=$3
FEATURES=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$WASM_BINDGEN_BIN" "$SRC" --out-dir "$TMP" --no-typescript --target module --out-name index \
  --experimental-reset-state-function --force-enable-abort-handler
# The exports the shipped bundle never calls go, as scripts/build.sh removes them.
REMOVE=()
if [ -f "$(dirname "$SHIPPED")/index.js" ]; then
  while read -r name; do
    REMOVE+=("--remove-exports=$name")
  done < <(node scripts/wasm-exports.mjs unused "$TMP/index.js" "$(dirname "$SHIPPED")/index.js")
fi
"$WASM_OPT_BIN" "$TMP/index_bg.wasm" -o "$OUT_WASM" ${REMOVE[@]+"${REMOVE[@]}"} -Oz "${FEATURES[@]}" --debuginfo
"$WASM_OPT_BIN" "$OUT_WASM" -o "$TMP/stripped.wasm" --strip-debug --strip-producers "${FEATURES[@]}"
stripped=$(stat -c %s "$TMP/stripped.wasm")
shipped=$(stat -c %s "$SHIPPED")
# scripts/build.sh optimises without names, so wasm-opt may merge a few more functions there: a
# copy within 1 % of the shipped size is the same build; more than that is a stale one.
if [ "$stripped" != "$shipped" ]; then
  if [ $(( (stripped > shipped ? stripped - shipped : shipped - stripped) * 100 )) -gt "$shipped" ]; then
    echo "named-wasm: $SRC does not match $SHIPPED ($stripped vs $shipped bytes stripped): rebuild first" >&2
    exit 1
  fi
  echo "named-wasm: names keep wasm-opt from merging some functions: $stripped bytes stripped, $shipped shipped" >&2
fi
echo "$(stat -c %s "$OUT_WASM") bytes with names, $stripped without (≈ $SHIPPED)"
