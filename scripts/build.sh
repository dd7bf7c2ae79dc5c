#!/usr/bin/env bash
# Builds a worker crate into build/ with worker-build, fed the locally installed tools:
#   bash scripts/build.sh            this repository's worker (worker/, into ./build)
#   bash scripts/build.sh DIR [OUT]  a user's project in DIR (into OUT, default DIR/build)
# A user's project runs it through its own sms-worker.mjs (`npm run build`, and wrangler.toml's
# [build]), so `wrangler dev` and `wrangler deploy` build the same way; nothing in it is the
# user's to edit or copy.
set -euo pipefail
FRAMEWORK="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -ge 1 ]; then
  PROJECT="$(cd "$1" && pwd)"
  OUT="${2:-$PROJECT/build}"
  export SMS_WORKER_PROJECT="$PROJECT"
else
  PROJECT="$FRAMEWORK/worker"
  OUT="$FRAMEWORK/build"
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
eval "$(bash "$FRAMEWORK/scripts/setup.sh" --print-env)"
cd "$PROJECT"

# What the wasm needs, applied here because cargo ignores a dependency's [profile] and
# .cargo/config.toml (and --config wins over a project's own [profile.release]; these are
# the values this crate is measured with, bench/RESULTS.md):
#   - opt-level "s", LTO, one codegen unit, panic = "abort" (no unwinding machinery; the
#     panic hook still logs the message and a fresh instance takes over);
#   - opt-level 3 for the code a webhook runs hot: this crate (where the generics on the
#     webhook's path are instantiated), SHA-1/SHA-256 and the AEAD: 6 to 14 µs less CPU per
#     webhook for 12 KB of gzipped wasm, SHA-1 3.3× faster in wasm;
#   - WebAssembly SIMD, which workerd's V8 runs (SHA-256's message schedule in vectors).
PROFILE=(--config 'profile.release.opt-level="s"' --config 'profile.release.lto=true'
  --config 'profile.release.codegen-units=1' --config 'profile.release.panic="abort"')
for hot in sms-conversation-worker sha1 sha2 chacha20 poly1305; do
  PROFILE+=(--config "profile.release.package.$hot.opt-level=3")
done
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
worker-build --release --no-opt --out-dir "$OUT" -- "${PROFILE[@]}"

# -Oz shrinks what cold starts load and the 3 MiB free-plan limit counts; no "name"
# section (a quarter of the file; panics stay readable through the panic hook). The
# feature list is worker-build's own, so no encoding workerd cannot read is emitted.
"$WASM_OPT_BIN" "$OUT/index_bg.wasm" -o "$OUT/index_bg.wasm" -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

# The fetch handler is the crate's src/entry.mjs: it reads the request in JavaScript and
# calls the wasm once (`webhook` in src/worker_entry/mod.rs), instead of worker-build's
# default export, which crosses into wasm for every header and response part (41 to 51 µs
# more CPU per webhook, bench/HISTORY.md). worker-build's module stays underneath it,
# re-exported (the Durable Object class, the wasm instance and its recovery after a
# panic): one module again.
mv "$OUT/index.js" "$OUT/workers-rs.js"
cp "$FRAMEWORK/src/entry.mjs" "$OUT/entry.mjs"
"$ESBUILD_BIN" "$OUT/entry.mjs" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile="$OUT/index.js"
rm "$OUT/entry.mjs" "$OUT/workers-rs.js"
echo "[build] $OUT/index_bg.wasm: $(wc -c < "$OUT/index_bg.wasm") bytes, $(gzip -9 -c "$OUT/index_bg.wasm" | wc -c) gzipped" >&2
