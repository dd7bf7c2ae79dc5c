#!/usr/bin/env bash
# Where a signed webhook's CPU goes in workerd, stage by stage (src/bench_stages.rs): builds
# this repository's worker (the counter, the survey and Studio, default features) once more
# with the bench-only feature `bench-stages` (bench/.stages/worker, sharing target/), and
# without the `studio` feature, the `objects` feature, or either (what the module's size
# costs), then serves one workerd per
# variant under wrk, interleaved (bench/workerd.mjs): the JS I/O floor, the shipped worker,
# the bench build answering from a canned answer (the JS entry and the crossing), the same
# answer after the request is read (`early`) and after the core ran (`handled`), answering in
# full through the bench build's hooks (`full`), doing only
# the work every variant does (`prepare`), and each stage run BENCH_REPEAT times more per
# request. Writes $OUT/stages.json and prints the table (bench/stages-report.mjs).
#   OUT=bench/.results bash bench/stages.sh
# Knobs: BENCH_STAGE_REPEAT (20), BENCH_STAGE_DURATION (4 s), BENCH_STAGE_RUNS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
eval "$(bash scripts/setup.sh --print-env)"
OUT=${OUT:-bench/.results}
mkdir -p "$OUT"
export CARGO_TARGET_DIR="$ROOT/target"

# bench_project, then this repository's worker's own lib.rs.
source bench/project.sh
project() { # project <dir> <dependency options>
  bench_project "$1" bench/stages.sh "$2"
  grep -v '^//' worker/src/lib.rs > "$1/src/lib.rs"
}

STAGES=bench/.stages/worker
project "$STAGES" 'features = ["bench-stages"]'
bash scripts/build.sh "$STAGES" >&2
# The same worker without Studio (its runner stays out of the wasm; Counter and Survey only).
NO_STUDIO=bench/.stages/no-studio
project "$NO_STUDIO" 'default-features = false, features = ["kv", "objects", "counter", "survey", "smart-encoding", "state-api"]'
sed -i 's/Studio, //; s/, Studio//' "$NO_STUDIO/src/lib.rs"
bash scripts/build.sh "$NO_STUDIO" >&2
# Without the objects (KV stays), and without either: what the objects' code costs.
NO_OBJECTS=bench/.stages/no-objects
project "$NO_OBJECTS" 'default-features = false, features = ["kv", "counter", "survey", "studio", "smart-encoding", "state-api"]'
bash scripts/build.sh "$NO_OBJECTS" >&2
NEITHER=bench/.stages/neither
project "$NEITHER" 'default-features = false, features = ["kv", "counter", "survey", "smart-encoding", "state-api"]'
sed -i 's/Studio, //; s/, Studio//' "$NEITHER/src/lib.rs"
bash scripts/build.sh "$NEITHER" >&2
# The shipped worker, as bench/run.sh builds it: when missing or older than its sources.
if [ ! -f build/index.js ] || [ -n "$(find src worker Cargo.toml Cargo.lock -newer build/index.js -print -quit)" ]; then
  bash scripts/build.sh >&2
fi

N=${BENCH_STAGE_REPEAT:-20}
ARGS=(--variant "no-studio=$NO_STUDIO/build" --label "no-studio=worker without the studio feature"
  --variant "no-objects=$NO_OBJECTS/build" --label "no-objects=worker without the objects feature"
  --variant "neither=$NEITHER/build" --label "neither=worker without studio and objects")
# Cold starts and the defaults come from the rows without "-signed": the floor, the shipped
# worker and the ones without Studio, the objects or either.
ONLY=js-io-floor,rust-signed,rust,no-studio-signed,no-studio,no-objects-signed,no-objects,neither-signed,neither
# `full`: the bench build answering as the shipped one does (the in-place cuts' last reference).
for stage in canned early handled full prepare read parse signature message open respond segments seal twiml log json out handle; do
  n=$N
  case $stage in canned | early | handled | full | prepare) n=0 ;; respond | handle) n=$((N / 2)) ;; esac
  ARGS+=(--variant "stage-$stage=$STAGES/build?BENCH_STAGE=$stage&BENCH_REPEAT=$n" --label "stage-$stage=$stage×$n")
  ONLY+=",stage-$stage-signed"
done
node bench/workerd.mjs --out "$OUT/stages.json" --only "$ONLY" "${ARGS[@]}" \
  --duration "${BENCH_STAGE_DURATION:-4}" --runs "${BENCH_STAGE_RUNS:-3}" --cold-starts 7
# The native column comes from bench/native.sh's table when bench/run.sh made one.
node bench/stages-report.mjs "$OUT/stages.json" "$OUT/native.json"
