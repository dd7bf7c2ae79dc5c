#!/usr/bin/env bash
# The proposed Workers entry, built for the workerd benchmark: the main crate copied into
# bench/glue/.crate with bench/glue/worker_entry.rs as its src/worker_entry.rs, built as
# scripts/build.sh builds it, then bench/glue/entry.mjs bundled over worker-build's output.
# Leaves bench/glue/build/{index.js,index_bg.wasm}:
#   node bench/workerd.mjs --variant glue=bench/glue/build
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
eval "$(bash scripts/setup.sh --print-env)"
CRATE=bench/glue/.crate
mkdir -p "$CRATE"
rm -rf "$CRATE/src"
cp -r Cargo.toml Cargo.lock README.md src benches "$CRATE/"
cp bench/glue/worker_entry.rs "$CRATE/src/worker_entry.rs"
# GLUE_PROFILE: more Cargo.toml (e.g. per-package opt-levels), to compare builds.
if [ -n "${GLUE_PROFILE:-}" ]; then printf '\n%b\n' "$GLUE_PROFILE" >> "$CRATE/Cargo.toml"; fi
# GLUE_OUT: where the build goes (default bench/glue/build).
OUT="${GLUE_OUT:-$ROOT/bench/glue/build}"
cd "$CRATE"
export CARGO_TARGET_DIR="$ROOT/bench/glue/target"
worker-build --release
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
# The JS entry over worker-build's index.js, one module again (the wasm stays its own file).
mv build/index.js build/workers-rs.js
cp "$ROOT/bench/glue/entry.mjs" build/entry.mjs
"$ESBUILD_BIN" build/entry.mjs --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile=build/index.js
rm build/entry.mjs build/workers-rs.js
rm -rf "$OUT"
cp -r build "$OUT"
