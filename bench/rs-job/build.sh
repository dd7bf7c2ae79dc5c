#!/usr/bin/env bash
# Builds bench/rs-job into bench/rs-job/build (index.js and index_bg.wasm), as scripts/build.sh
# builds the worker: cargo, wasm-bindgen, esbuild, wasm-opt -Oz.
set -euo pipefail
cd "$(dirname "$0")"
eval "$(bash ../../scripts/setup.sh --print-env)"
[ -f Cargo.lock ] || cp ../../Cargo.lock Cargo.lock
# SIMD, as the worker is built (scripts/build.sh).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
cargo build --release --target wasm32-unknown-unknown --quiet
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
"$WASM_BINDGEN_BIN" target/wasm32-unknown-unknown/release/sms_bench_rs_job.wasm --out-dir "$STAGE" \
  --out-name index --target module --no-typescript
sed -i 's/^import source /import /' "$STAGE/index.js"
mv "$STAGE/index.js" "$STAGE/glue.js"
cp index.mjs "$STAGE/main.mjs"
mkdir -p build
"$ESBUILD_BIN" "$STAGE/main.mjs" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm --outfile=build/index.js
"$WASM_OPT_BIN" "$STAGE/index_bg.wasm" -o build/index_bg.wasm -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
echo "[rs-job] build/index_bg.wasm: $(wc -c < build/index_bg.wasm) bytes, $(gzip -9 -c build/index_bg.wasm | wc -c) gzipped" >&2
