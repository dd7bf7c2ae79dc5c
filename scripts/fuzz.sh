#!/usr/bin/env bash
# Fuzzes the native core with cargo-fuzz (libFuzzer): every target in fuzz/fuzz_targets,
# one after the other, one process each, for the given number of seconds (default 60).
#
#   bash scripts/fuzz.sh [seconds] [target ...]      (npm run fuzz -- 60)
#
# Installs what it needs when missing, non-interactively: the nightly toolchain named in
# fuzz/rust-toolchain.toml (`rustup toolchain install --profile minimal`; FUZZ_TOOLCHAIN
# overrides it) and cargo-fuzz, built from crates.io into the per-user cache that
# scripts/setup.sh uses. If no nightly can be installed it falls back to the stable
# toolchain with RUSTC_BOOTSTRAP=1, and says so.
#
# Inputs: fuzz/seeds/<target> (committed) and fuzz/corpus/<target> (what earlier runs
# found; git-ignored). A crashing input lands in fuzz/artifacts/<target>/; the libFuzzer
# log of each run is fuzz/artifacts/logs/<target>.log.
# Exit status: 0 when every target ran its time without a crash; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-60}"
[ $# -gt 0 ] && shift
if ! [[ "$DURATION" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash scripts/fuzz.sh [seconds] [target ...]" >&2
  exit 2
fi
CARGO_FUZZ_VERSION=0.13.2
TOOLS="${SMS_WORKER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/sms-conversation-worker}"
CARGO_FUZZ_ROOT="$TOOLS/cargo-fuzz-$CARGO_FUZZ_VERSION"
PINNED=$(sed -n 's/^channel = "\(.*\)"$/\1/p' fuzz/rust-toolchain.toml)
TOOLCHAIN="${FUZZ_TOOLCHAIN:-$PINNED}"

say() { echo "[fuzz +${SECONDS}s] $*" >&2; }

# --- tools ---------------------------------------------------------------------------
have_toolchain() { RUSTUP_AUTO_INSTALL=0 rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; }
if ! have_toolchain; then
  say "installing the $TOOLCHAIN toolchain (minimal profile)"
  # Judged by the result: rustup can fail on unrelated steps after installing it.
  rustup toolchain install "$TOOLCHAIN" --profile minimal --no-self-update >&2 || true
fi
if ! have_toolchain; then
  # The toolchain rust-toolchain.toml pins for the main crate (stable), unlocked for -Z.
  TOOLCHAIN=$(rustup show active-toolchain | cut -d' ' -f1)
  export RUSTC_BOOTSTRAP=1
  say "WARNING: no nightly toolchain; falling back to $TOOLCHAIN with RUSTC_BOOTSTRAP=1"
fi
say "toolchain: $(rustup run "$TOOLCHAIN" rustc --version)"

if [ ! -x "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" ]; then
  say "building cargo-fuzz $CARGO_FUZZ_VERSION (about a minute, once)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$CARGO_FUZZ_ROOT" --quiet >&2
fi
export PATH="$CARGO_FUZZ_ROOT/bin:$PATH"

# --- targets -------------------------------------------------------------------------
if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in fuzz/fuzz_targets/*.rs; do TARGETS+=("$(basename "$f" .rs)"); done
fi

say "building the fuzz targets (release, debug assertions, AddressSanitizer)"
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! cargo "+$TOOLCHAIN" fuzz build --fuzz-dir fuzz >"$build_log" 2>&1; then
  cat "$build_log" >&2
  say "FAILED: the fuzz targets do not build"
  exit 1
fi

mkdir -p fuzz/artifacts/logs
failed=()
rows=()
for target in "${TARGETS[@]}"; do
  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  log="fuzz/artifacts/logs/$target.log"
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
  say "running $target for ${DURATION}s"
  status=0
  # New inputs are saved to the first corpus directory; the seeds are only read.
  cargo "+$TOOLCHAIN" fuzz run --fuzz-dir fuzz "$target" "$corpus" "fuzz/seeds/$target" -- \
    -max_total_time="$DURATION" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  after=$(find "$artifacts" -maxdepth 1 -type f | wc -l)
  crashes=$((after - before))

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<<"$last")
  files=$(find "$corpus" -type f | wc -l)
  rows+=("$(printf '%-12s %10s %8s %8s %12s %12s %6s' "$target" "${execs:-?}" "${rate:-?}" "$crashes" "${corp:-?}" "$files" "${cov:-?}")")

  if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    failed+=("$target")
    say "FAILED: $target (exit $status, $crashes new artifact(s)); full log: $log"
    # The panic (or sanitizer report), the crashing input and how to reproduce it.
    grep -E -A4 'panicked at|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' "$log" | head -n 24 >&2 || true
    grep -E 'Test unit written to|^SUMMARY' "$log" >&2 || true
    sed -n '/^Reproduce with:/,/^Minimize test case with:/p' "$log" | grep -v '^Minimize' >&2 || true
  fi
done

echo
echo "fuzzed ${DURATION}s per target with $(rustup run "$TOOLCHAIN" rustc --version)${RUSTC_BOOTSTRAP:+ (RUSTC_BOOTSTRAP=1)}"
printf '%-12s %10s %8s %8s %12s %12s %6s\n' target execs exec/s crashes corpus_units corpus_files cov
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/<target>/; reproduce with" \
    "PATH=\"$CARGO_FUZZ_ROOT/bin:\$PATH\" cargo +$TOOLCHAIN fuzz run --fuzz-dir fuzz <target> <input>)" >&2
  exit 1
fi
