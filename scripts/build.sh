#!/usr/bin/env bash
# Builds the worker into build/ with worker-build, fed the locally installed tools.
# wrangler.toml's [build] runs this, so `wrangler dev` and `wrangler deploy` build the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --print-env)"
worker-build --release

# worker-build keeps the wasm "name" section (it passes --debuginfo to wasm-opt): about a
# quarter of the file, shipped and parsed on every cold start. Panics are still readable
# without it (the panic hook logs message and source location), so strip it. The feature
# list is worker-build's own, so no encoding workerd cannot read is emitted.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

# The fetch handler is src/entry.mjs: it reads the request in JavaScript and calls the wasm
# once (`webhook` in src/worker_entry.rs), instead of worker-build's default export, which
# crosses into wasm for every header and response part (41 to 51 µs more CPU per webhook,
# bench/HISTORY.md). worker-build's module stays underneath it, re-exported (the Durable
# Object class, the wasm instance and its recovery after a panic): one module again.
mv build/index.js build/workers-rs.js
cp src/entry.mjs build/entry.mjs
"$ESBUILD_BIN" build/entry.mjs --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile=build/index.js
rm build/entry.mjs build/workers-rs.js
