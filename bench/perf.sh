#!/usr/bin/env bash
# Where ALL of workerd's CPU goes per webhook, not only the wasm's: `perf record` samples the
# whole workerd process (its C++, V8's runtime, builtins and garbage collector, the JIT's
# JavaScript and wasm, named through V8's perf map, and the kernel) while wrk sends the steady
# request, for the JS I/O floor, the hello-world workers-rs floor and this repository's worker
# in both configurations, in one interleaved run (bench/workerd.mjs --perf). The worker is
# served from a copy of its wasm that keeps the function names (bench/named-wasm.sh).
# bench/perf-report.mjs turns the samples into µs per webhook by category and by symbol,
# against the JS I/O floor. Needs Linux `perf` with the cpu-clock event; exits 3 without it.
#   OUT=bench/.results bash bench/perf.sh > perf.md
# Knobs: BENCH_PERF_RUNS (3), BENCH_PERF_DURATION (6 s); BENCH_PERF_CALLGRAPH=1 records call
# graphs too (`perf record -g`), for `perf report -G` on the samples kept in $OUT/perf when the
# cleanup below is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --print-env)"
OUT=${OUT:-bench/.results}
DIR="$OUT/perf"
rm -rf "$DIR"
mkdir -p "$DIR"
if ! command -v perf >/dev/null || ! perf record -q -e cpu-clock -o "$DIR/probe.data" -- true >/dev/null 2>&1; then
  echo "perf is missing or cannot sample here (Debian: apt-get install linux-perf; perf_event_paranoid): no whole-process attribution" >&2
  exit 3
fi
rm -f "$DIR/probe.data"
bash bench/named-wasm.sh target/wasm32-unknown-unknown/release/sms_worker.wasm build/index_bg.wasm "$DIR/named.wasm" >&2
ONLY=js-io-floor,rust-signed,rust
[ -f bench/floor/build/index.js ] && ONLY=js-io-floor,floor,rust-signed,rust
node bench/workerd.mjs --only "$ONLY" --perf "$DIR" --perf-wasm "$DIR/named.wasm" \
  --runs "${BENCH_PERF_RUNS:-3}" --duration "${BENCH_PERF_DURATION:-6}" --cold-starts 0 --out "$DIR/workerd.json"
node bench/perf-report.mjs "$DIR/workerd.json" 25
# The samples and V8's perf maps are large and only this report reads them.
for pid in $(node -e 'for (const w of require(process.argv[1]).throughput.workers) for (const r of w.runs) console.log(r.pid)' "$(cd "$DIR" && pwd)/workerd.json" | sort -u); do
  rm -f "/tmp/perf-$pid.map"
done
rm -f "$DIR"/*.data "$DIR"/*.data.old "$DIR/named.wasm"
