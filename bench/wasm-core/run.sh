#!/usr/bin/env bash
# Builds bench/wasm-core (the core in wasm, for Node) and times it: µs per webhook and per step.
#   bash bench/wasm-core/run.sh [--json]   (RUSTFLAGS passes through, e.g. -C target-feature=+simd128)
set -euo pipefail
cd "$(dirname "$0")"
eval "$(bash ../../scripts/setup.sh --print-env)"
[ -f Cargo.lock ] || cp ../../Cargo.lock Cargo.lock
cargo build --release --target wasm32-unknown-unknown --quiet
OUT=target/pkg
"$WASM_BINDGEN_BIN" target/wasm32-unknown-unknown/release/sms_bench_wasm_core.wasm --out-dir "$OUT" --target nodejs --no-typescript
# As scripts/build.sh ships it: wasm-opt -Oz (worker-build's pass).
"$WASM_OPT_BIN" "$OUT/sms_bench_wasm_core_bg.wasm" -o "$OUT/sms_bench_wasm_core_bg.wasm" -Oz \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling --enable-simd
node run.mjs "$OUT" "$@"
