#!/usr/bin/env bash
# RUSTC_WRAPPER for scripts/build.sh's wasm build: runs rustc (through the caller's own
# RUSTC_WRAPPER, if it had one, e.g. sccache) with --remap-path-prefix for each folder in
# SMS_WORKER_TRIM_PATHS (one a line), so the panic locations in the wasm name no home
# directory or checkout. Passed here rather than in RUSTFLAGS, because RUSTFLAGS is part of
# every crate's fingerprint in cargo: the framework's folder there made every dependency
# rebuild whenever the framework moved (an upgrade); a wrapper's arguments are not.
set -euo pipefail
rustc="$1"
shift
remaps=()
while IFS= read -r dir; do
  [ -n "$dir" ] && remaps+=("--remap-path-prefix=$dir=")
done <<< "${SMS_WORKER_TRIM_PATHS:-}"
if [ -n "${SMS_WORKER_INNER_WRAPPER:-}" ]; then
  exec "$SMS_WORKER_INNER_WRAPPER" "$rustc" "$@" "${remaps[@]}"
fi
exec "$rustc" "$@" "${remaps[@]}"
