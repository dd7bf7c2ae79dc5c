#!/usr/bin/env bash
# Builds a worker crate into build/ (index.js and index_bg.wasm, what wrangler.toml's `main`
# loads) with cargo, wasm-bindgen, wasm-opt and esbuild, installed locally by setup.sh:
#   bash scripts/build.sh            this repository's worker (worker/, into ./build)
#   bash scripts/build.sh DIR [OUT]  a user's project in DIR (into OUT, default DIR/build)
# SMS_WORKER_OUT=DIR puts this repository's build elsewhere, and SMS_WORKER_FUNCTIONS=DIR
# bundles another folder's Functions (the tests' variants of the worker).
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
  OUT="${SMS_WORKER_OUT:-$FRAMEWORK/build}"
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
eval "$(bash "$FRAMEWORK/scripts/setup.sh" --print-env)"
cd "$PROJECT"

# The crate's wasm (its cdylib target's name in the target directory cargo used), and how to
# optimise it: [package.metadata.sms-conversation-worker] opt = "size" or "speed".
read -r TARGET_DIR LIB_NAME OPT_META < <(cargo metadata --no-deps --format-version 1 | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const dir = require("path").resolve(process.argv[1]);
  const pkg = m.packages.find((p) => require("path").dirname(p.manifest_path) === dir);
  const lib = pkg && pkg.targets.find((t) => t.kind.includes("cdylib"));
  if (!lib) { console.error(`[build] ${dir}/Cargo.toml has no [lib] with crate-type "cdylib"`); process.exit(1); }
  const opt = pkg.metadata?.["sms-conversation-worker"]?.opt ?? "-";
  console.log(m.target_directory, lib.name.replace(/-/g, "_"), opt);
' "$PROJECT")
[ -n "${LIB_NAME:-}" ] || exit 1

# What the wasm needs, applied here because cargo ignores a dependency's [profile] and
# .cargo/config.toml (and --config wins over a project's own [profile.release]; these are
# the values this crate is measured with, bench/RESULTS.md):
#   - opt-level "s", LTO, one codegen unit, panic = "abort" (no unwinding machinery; the
#     panic hook still logs the message and a fresh instance takes over);
#   - opt-level 3 for the code a webhook runs hot: this crate (where the generics on the
#     webhook's path are instantiated), SHA-1/SHA-256 and the AEAD: 6 to 14 µs less CPU per
#     webhook for 12 KB of gzipped wasm, SHA-1 3.3× faster in wasm;
#   - WebAssembly SIMD, which workerd's V8 runs (SHA-256's message schedule in vectors).
# opt = "size" (or SMS_WORKER_OPT=size, which wins) builds everything at opt-level "z" instead:
# the smallest wasm (a cookie-only worker's ≤ 100 KB gzipped), about 10 % less of it, for more
# CPU per webhook.
PROFILE=(--config 'profile.release.lto=true' --config 'profile.release.codegen-units=1'
  --config 'profile.release.panic="abort"')
[ "$OPT_META" = - ] && OPT_META=speed
OPT="${SMS_WORKER_OPT:-$OPT_META}"
case "$OPT" in
  speed)
    PROFILE+=(--config 'profile.release.opt-level="s"')
    for hot in sms-conversation-worker sha1 sha2 chacha20 poly1305; do
      PROFILE+=(--config "profile.release.package.$hot.opt-level=3")
    done
    ;;
  size) PROFILE+=(--config 'profile.release.opt-level="z"') ;;
  *) echo "[build] opt is \"speed\" (the default) or \"size\", not \"$OPT\"" >&2; exit 2 ;;
esac
# Panic locations name source files: the registry's, the framework's and the project's folders
# come out of the paths, so the wasm carries no home directory and a few KB less. The
# remapping is added to each rustc call by scripts/rustc-trim-paths.sh, not put in RUSTFLAGS,
# which key every crate's build: there the framework's folder made every dependency rebuild
# when the framework moved or was upgraded.
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
SMS_WORKER_TRIM_PATHS=""
for dir in "$CARGO_HOME_DIR"/registry/src/*/ "$CARGO_HOME_DIR"/git/checkouts/ "$FRAMEWORK/" "$PROJECT/"; do
  [ -d "$dir" ] && SMS_WORKER_TRIM_PATHS+="$dir"$'\n'
done
export SMS_WORKER_TRIM_PATHS
# The wrapper runs from the target directory: a path that stays put when the framework moves,
# and executable whatever the file mode the crate was unpacked with.
WRAPPER="$TARGET_DIR/sms-worker-rustc-trim-paths.sh"
if ! cmp -s "$FRAMEWORK/scripts/rustc-trim-paths.sh" "$WRAPPER"; then
  mkdir -p "$TARGET_DIR"
  cp "$FRAMEWORK/scripts/rustc-trim-paths.sh" "$WRAPPER"
fi
[ -x "$WRAPPER" ] || chmod +x "$WRAPPER"
# The caller's own wrapper (sccache, …) runs inside ours.
if [ "${RUSTC_WRAPPER:-}" != "$WRAPPER" ]; then
  export SMS_WORKER_INNER_WRAPPER="${RUSTC_WRAPPER:-}"
fi
export RUSTC_WRAPPER="$WRAPPER"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
# js_sys's futures for wasm_bindgen_futures, as worker-build sets it.
export WASM_BINDGEN_USE_JS_SYS=1
cargo build --lib --release --target wasm32-unknown-unknown "${PROFILE[@]}"

WASM="$TARGET_DIR/wasm32-unknown-unknown/release/$LIB_NAME.wasm"

# The JS glue for the crate's exports (the framework's `webhook` and `contract`, the Durable
# Object class with the objects feature, the start hook `worker!` defines), with wasm-bindgen's
# recovery after a panic: the panic hook schedules a fresh instance before the next call.
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
"$WASM_BINDGEN_BIN" "$WASM" --out-dir "$STAGE" --out-name index --target module --no-typescript \
  --experimental-reset-state-function --force-enable-abort-handler
# workerd imports a wasm module as a compiled module, not a "source phase" import.
sed -i 's/^import source /import /' "$STAGE/index.js"
mv "$STAGE/index.js" "$STAGE/glue.js"
node "$FRAMEWORK/scripts/wasm-exports.mjs" shakeable "$STAGE/glue.js"

# The module wrangler.toml's `main` names: the crate's fetch handler (src/entry.mjs: it reads
# the request in JavaScript and calls the wasm once, 41 to 51 µs less CPU per webhook than a
# crossing per header, bench/HISTORY.md), and the Durable Object class when the wasm has it.
cp "$FRAMEWORK/src/entry.mjs" "$FRAMEWORK/src/entry-objects.mjs" "$FRAMEWORK/src/entry-flows.mjs" "$STAGE/"
# The project's Studio flows (flows/*.json beside its wrangler.toml), bundled as text: the
# wasm reads them as the vars flows/<name>.json (src/entry-flows.mjs). Checked as JSON here;
# the flow itself is checked when the isolate starts, and by `npm run flow -- check`.
if [ $# -ge 1 ]; then FLOWS_DIR="$PROJECT/flows"; else FLOWS_DIR="$FRAMEWORK/flows"; fi
node -e '
  const fs = require("fs"), path = require("path");
  const [dir, out] = process.argv.slice(1);
  const flows = {};
  if (fs.existsSync(dir)) {
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      try { JSON.parse(text); } catch (e) { console.error(`[build] ${dir}/${file} is not JSON: ${e.message}`); process.exit(1); }
      flows[`flows/${file}`] = text;
    }
  }
  fs.writeFileSync(out, `export default ${JSON.stringify(flows)};\n`);
' "$FLOWS_DIR" "$STAGE/flows.mjs"
# The project's Twilio Functions (functions/*.js beside its flows/; SMS_WORKER_FUNCTIONS=DIR
# names another folder), answering the outside calls to `function:functions/<file>.js` that
# Studio's Run Function widget makes (src/entry-functions.mjs). Without any, nothing of them
# is bundled: the output is what it was.
if [ $# -ge 1 ]; then FUNCTIONS_DIR="$PROJECT/functions"; else FUNCTIONS_DIR="$FRAMEWORK/functions"; fi
node "$FRAMEWORK/scripts/functions-bundle.mjs" "${SMS_WORKER_FUNCTIONS:-$FUNCTIONS_DIR}" "$STAGE/functions.mjs"
INJECT=()
if [ -f "$STAGE/functions.mjs" ]; then
  cp "$FRAMEWORK/src/entry-functions.mjs" "$FRAMEWORK/src/functions-runtime.mjs" "$STAGE/"
  INJECT=("--inject:$STAGE/entry-functions.mjs")
fi
{
  if [ ${#INJECT[@]} -gt 0 ]; then
    echo 'import entry from "./entry.mjs";'
    echo 'import { serving } from "./entry-functions.mjs";'
    echo 'export default serving(entry);'
  else
    echo 'export { default } from "./entry.mjs";'
  fi
  if grep -q '^export class ConversationObject\b' "$STAGE/glue.js"; then
    echo 'export { ConversationObject } from "./entry-objects.mjs";'
  fi
} > "$STAGE/main.mjs"
"$ESBUILD_BIN" "$STAGE/main.mjs" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' ${INJECT[@]+"${INJECT[@]}"} --outfile="$OUT/index.js"
# The exports only code esbuild left out of the bundle called (the `worker` crate's classes
# with the objects feature: scripts/wasm-exports.mjs) are removed, then wasm-opt drops what
# only they reached.
REMOVE=()
while read -r name; do
  REMOVE+=("--remove-exports=$name")
done < <(node "$FRAMEWORK/scripts/wasm-exports.mjs" unused "$STAGE/glue.js" "$OUT/index.js")
# -Oz shrinks what cold starts load and the 3 MiB free-plan limit counts; no "name" section
# (panics stay readable through the panic hook). The feature list is worker-build's, so no
# encoding workerd cannot read is emitted.
"$WASM_OPT_BIN" "$STAGE/index_bg.wasm" -o "$OUT/index_bg.wasm" ${REMOVE[@]+"${REMOVE[@]}"} \
  -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
echo "[build] $OUT/index_bg.wasm ($OPT): $(wc -c < "$OUT/index_bg.wasm") bytes, $(gzip -9 -c "$OUT/index_bg.wasm" | wc -c) gzipped" >&2
