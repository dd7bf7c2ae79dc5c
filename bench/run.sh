#!/usr/bin/env bash
# `npm run bench`: builds what is missing or stale, then
#   1. the native core (criterion, benches/webhook.rs): one webhook through app::handle;
#      and the same core compiled to wasm, timed in Node's V8 (bench/wasm-core);
#   2. the built worker in bare workerd under wrk, against two I/O floors that do the
#      webhook's reads and writes and no work (plain JS: bench/js-io-floor; workers-rs:
#      bench/rs-io-floor), a hello-world workers-rs floor (bench/floor), the same job in
#      plain JS with WebCrypto (bench/js-worker) and in Rust without the framework
#      (bench/rs-job); beside them a counted step of the counter and
#      one of a Studio flow (a reply to flows/appointments.json's Send & Wait), for the target
#      "a Studio step's CPU ≤ 2 × the counter's";
#   3. sizes and cold starts, and where the wasm's bytes go (twiggy);
#   4. where a signed webhook's CPU goes, stage by stage, in workerd and natively
#      (bench/stages.sh; the same worker without Studio, without the objects, without either
#      beside it), and in the whole workerd process, by category and symbol (bench/perf.sh,
#      Linux `perf`);
# prints the tables and writes bench/RESULTS.md. Not part of `npm test`.
# Knobs (environment): BENCH_DURATION (8 s), BENCH_CONNECTIONS (32), BENCH_RUNS (5: issue #29's
# targets are judged on at least 5 interleaved rounds), BENCH_SKIP_PERF=1,
# BENCH_SKIP_NATIVE=1, BENCH_SKIP_OPT3=1 (the opt-level 3 comparison), BENCH_SKIP_WASM_CORE=1,
# BENCH_SKIP_WORKERD=1, BENCH_SKIP_STAGES=1 (the attribution by stage), BENCH_SKIP_OBJECTS=1 (the Durable Objects comparison),
# BENCH_SKIP_FEATURES=1 (the feature sets' sizes and the cookie-only build's row); BENCH_BEFORE=DIR
# adds a row for another build of the worker (e.g. an older commit's build/), to compare,
# named BENCH_BEFORE_LABEL.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(SMS_WORKER_BENCH=1 bash scripts/setup.sh --print-env)"
OUT=bench/.results
mkdir -p "$OUT"
say() { echo "[bench] $*" >&2; }

# What else is running: this machine is shared, and numbers taken next to a build are noisy.
others() { ps -eo pcpu=,comm= | awk '$1 > 20 && $2 !~ /^(workerd|node|ps|awk|bash)$/ { printf "%s %s%%; ", $2, $1 }'; }
echo "{\"start\": \"$(date -u +%FT%TZ)\", \"others_at_start\": \"$(others)\", \"loadavg_at_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$OUT/env.json"

stale() { # stale <output> <inputs...>: missing, or older than any input file
  [ ! -f "$1" ] && return 0
  local out=$1; shift
  [ -n "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]
}

# wrk, the load generator: a C program, so at 32 connections it leaves workerd the limit
# (autocannon, in Node, needed a core of its own). Installed once when we are root.
if ! command -v wrk >/dev/null && [ "${BENCH_SKIP_WORKERD:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing wrk (apt-get install wrk, once)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2; } ||
      say "wrk could not be installed: the load comes from autocannon (noisier, client-bound)"
  else
    say "wrk is missing (Debian/Ubuntu: sudo apt-get install -y wrk): the load comes from autocannon"
  fi
fi

if stale build/index.js src worker Cargo.toml Cargo.lock; then
  say "building the worker (scripts/build.sh)"
  bash scripts/build.sh >&2
fi
if stale bench/floor/build/index.js bench/floor/src bench/floor/Cargo.toml; then
  say "building the floor worker (bench/floor)"
  (cd bench/floor && worker-build --release >&2)
  # Stripped like scripts/build.sh strips the real worker, so sizes compare alike.
  "$WASM_OPT_BIN" bench/floor/build/index_bg.wasm -o bench/floor/build/index_bg.wasm --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
fi

if stale bench/rs-io-floor/build/index.js bench/rs-io-floor/src bench/rs-io-floor/Cargo.toml; then
  say "building the workers-rs I/O floor (bench/rs-io-floor)"
  (cd bench/rs-io-floor && worker-build --release >&2)
  "$WASM_OPT_BIN" bench/rs-io-floor/build/index_bg.wasm -o bench/rs-io-floor/build/index_bg.wasm --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
fi
# The job without the framework, in Rust (bench/rs-job): what a worker of this shape costs.
if stale bench/rs-job/build/index.js bench/rs-job/src bench/rs-job/index.mjs bench/rs-job/Cargo.toml; then
  say "building the Rust job without the framework (bench/rs-job)"
  bash bench/rs-job/build.sh
fi
BEFORE=()
# What each feature set costs (sizes), and the cookie-only build served beside the full one.
if [ "${BENCH_SKIP_FEATURES:-}" != 1 ]; then
  say "feature sets: a worker crate per set (bench/feature-sets.sh)"
  bash bench/feature-sets.sh > "$OUT/features.md"
  BEFORE+=(--variant "cookie-only=bench/.features/counter-cookie/build"
    --label "cookie-only=Rust worker, cookie-only build (the counter; no kv, no objects)")
fi
if [ -n "${BENCH_BEFORE:-}" ]; then
  BEFORE+=(--variant "before=$BENCH_BEFORE" --label "before=${BENCH_BEFORE_LABEL:-Rust worker, the build in $BENCH_BEFORE}")
fi

if [ "${BENCH_SKIP_NATIVE:-}" != 1 ]; then
  say "1/3 native core (criterion)"
  bash bench/native.sh > "$OUT/native.json"
  if [ "${BENCH_SKIP_OPT3:-}" != 1 ]; then
    say "1/3 native core again at opt-level 3, for comparison with the shipped opt-level \"z\""
    BENCH_OPT_LEVEL=3 bash bench/native.sh webhook/ > "$OUT/native-opt3.json"
  fi
fi
if [ "${BENCH_SKIP_WASM_CORE:-}" != 1 ]; then
  say "1/3 the core in wasm, in Node's V8 (bench/wasm-core)"
  bash bench/wasm-core/run.sh --json > "$OUT/wasm-core.json"
fi
if [ "${BENCH_SKIP_WORKERD:-}" != 1 ]; then
  say "2/3 + 3/3 workerd: throughput, cold start, sizes"
  node bench/workerd.mjs --out "$OUT/workerd.json" "${BEFORE[@]}" \
    --duration "${BENCH_DURATION:-8}" --connections "${BENCH_CONNECTIONS:-32}" --runs "${BENCH_RUNS:-5}"
fi
if [ "${BENCH_SKIP_WORKERD:-}" != 1 ] && [ "${BENCH_SKIP_STAGES:-}" != 1 ]; then
  say "where a signed webhook's CPU goes, stage by stage (bench/stages.sh)"
  OUT="$OUT" bash bench/stages.sh > "$OUT/stages.md"
fi
if [ "${BENCH_SKIP_WORKERD:-}" != 1 ] && [ "${BENCH_SKIP_PERF:-}" != 1 ]; then
  say "where all of workerd's CPU goes, by category and symbol (bench/perf.sh)"
  rm -f "$OUT/perf.md"
  OUT="$OUT" bash bench/perf.sh > "$OUT/perf.md.tmp" && mv "$OUT/perf.md.tmp" "$OUT/perf.md" ||
    say "no whole-process attribution (bench/perf.sh failed; see above)"
fi
if [ "${BENCH_SKIP_WORKERD:-}" != 1 ]; then
  say "CPU profile of the worker in workerd (V8 sampling profiler)"
  if bash bench/named-wasm.sh target/wasm32-unknown-unknown/release/sms_worker.wasm \
    build/index_bg.wasm "$OUT/named.wasm" >&2; then
    node bench/profile.mjs "$OUT/named.wasm" --config default > "$OUT/profile-default.md"
    node bench/profile.mjs "$OUT/named.wasm" --config signed > "$OUT/profile-signed.md"
  fi
fi
if [ "${BENCH_SKIP_WORKERD:-}" != 1 ] && [ "${BENCH_SKIP_OBJECTS:-}" != 1 ]; then
  say "Durable Objects against the cookie-only path (bench/objects.mjs)"
  node bench/objects.mjs --out "$OUT/objects.json" > "$OUT/objects.md"
fi
say "size profile (twiggy)"
BY_CRATE="$OUT/wasm-by-crate.md" bash bench/twiggy.sh > "$OUT/twiggy.txt" 2> "$OUT/twiggy.err" || say "no twiggy profile: $(tail -1 "$OUT/twiggy.err")"
bash bench/twiggy.sh bench/floor/target/wasm32-unknown-unknown/release/sms_bench_floor.wasm \
  bench/floor/build/index_bg.wasm 10 > "$OUT/twiggy-floor.txt" 2>> "$OUT/twiggy.err" || true

node - "$OUT/env.json" "$(others)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'JS'
const fs = require("fs");
const [file, others, load] = process.argv.slice(2);
const env = JSON.parse(fs.readFileSync(file, "utf8"));
Object.assign(env, { end: new Date().toISOString(), others_at_end: others, loadavg_at_end: load });
fs.writeFileSync(file, JSON.stringify(env));
JS
node bench/report.mjs "$OUT" bench/RESULTS.md
# The feature sets' and the objects' tables go after the report's (report.mjs does not know them).
if [ -f "$OUT/features.md" ]; then
  { echo; echo "## Feature sets: the wasm each costs"; echo; cat "$OUT/features.md"; } >> bench/RESULTS.md
  cat "$OUT/features.md"
fi
if [ -f "$OUT/stages.md" ]; then
  { echo; echo "## Where a signed webhook's CPU goes, stage by stage (bench/stages.sh)"; echo; cat "$OUT/stages.md"; } >> bench/RESULTS.md
  cat "$OUT/stages.md"
fi
if [ -f "$OUT/perf.md" ]; then
  { echo; echo "## Where all of workerd's CPU goes per webhook: every category and symbol above the floor (bench/perf.sh)"; echo; cat "$OUT/perf.md"; } >> bench/RESULTS.md
  cat "$OUT/perf.md"
fi
if [ -f "$OUT/objects.md" ]; then
  { echo; echo "## Durable Objects: what the binding costs per message"; echo; cat "$OUT/objects.md"; } >> bench/RESULTS.md
  cat "$OUT/objects.md"
fi
{ echo; cat bench/HISTORY.md; } >> bench/RESULTS.md
