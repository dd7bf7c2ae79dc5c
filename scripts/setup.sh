#!/usr/bin/env bash
# Installs what building a worker needs, and nothing when it is all there already. The
# worker is this repository's, or a user's project (SMS_WORKER_PROJECT=DIR; its
# package.json and Cargo.lock are the ones read):
#   - the project's npm packages (Node 22, wrangler and its esbuild, binaryen's wasm-opt; here
#     also miniflare, twilio, playwright-core) with `npm ci`;
#   - the wasm32-unknown-unknown Rust target;
#   - wasm-bindgen-cli at the project's Cargo.lock version, built from crates.io into a
#     per-user cache (scripts/build.sh runs it; nothing is downloaded from GitHub, which is
#     not always reachable, and local tools make builds reproducible); worker-build too,
#     only for the benchmarks' workers-rs floors (SMS_WORKER_BENCH=1, bench/run.sh);
#   - for this repository's tests, Debian's chromium (see below).
# Prints the environment scripts/build.sh needs when called with --print-env.
set -euo pipefail
FRAMEWORK="$(cd "$(dirname "$0")/.." && pwd)"
PROJECT="$(cd "${SMS_WORKER_PROJECT:-$FRAMEWORK}" && pwd)"
cd "$PROJECT"

WORKER_BUILD_VERSION=0.8.7
if [ ! -f Cargo.lock ]; then
  echo "[setup] resolving dependencies (cargo generate-lockfile)" >&2
  cargo generate-lockfile >&2
fi
# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
TOOLS="${SMS_WORKER_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/sms-conversation-worker}"
WORKER_BUILD_ROOT="$TOOLS/worker-build-$WORKER_BUILD_VERSION"
WASM_BINDGEN_ROOT="$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION"

say() { echo "[setup] $*" >&2; }

if [ -f package-lock.json ]; then
  lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_hash" ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund >&2
    echo "$lock_hash" > node_modules/.setup-stamp
  fi
elif [ ! -d node_modules ]; then
  say "installing npm packages (npm install: no package-lock.json yet)"
  npm install --no-audit --no-fund >&2
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

if [ "${SMS_WORKER_BENCH:-}" = 1 ] && [ ! -x "$WORKER_BUILD_ROOT/bin/worker-build" ]; then
  say "building worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --root "$WORKER_BUILD_ROOT" >&2
fi

if [ ! -x "$WASM_BINDGEN_ROOT/bin/wasm-bindgen" ]; then
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # No --locked: wasm-bindgen-cli's own lock file does not build with current Rust.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$WASM_BINDGEN_ROOT" >&2
fi

# Chromium (Debian's), for the dev phone's browser test (tests/phone.test.mjs, driven by
# playwright-core, which never downloads a browser). Only when the tests or `npm run setup` call
# this script (or SMS_WORKER_BROWSER=1), so `npm run dev`, `build` and `deploy` need no browser.
CHROMIUM="${CHROMIUM_BIN:-/usr/bin/chromium}"
wants_browser() {
  [ "${SMS_WORKER_BROWSER:-}" = 1 ] && return 0
  case "${npm_lifecycle_event:-}" in test | setup) return 0 ;; esac
  local parent
  parent=$(tr '\0' ' ' < "/proc/$PPID/cmdline" 2>/dev/null || ps -o args= -p "$PPID" 2>/dev/null || true)
  case "$parent" in *scripts/test.sh*) return 0 ;; esac
  return 1
}
if [ "$PROJECT" = "$FRAMEWORK" ] && [ ! -x "$CHROMIUM" ] && wants_browser; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Chromium for the dev phone's browser test (apt-get install chromium, once)"
    DEBIAN_FRONTEND=noninteractive apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
  else
    say "error: $CHROMIUM is missing; the dev phone's browser test (tests/phone.test.mjs) needs it."
    say "Install it as root (Debian/Ubuntu: sudo apt-get install -y chromium), or point CHROMIUM_BIN at a Chromium."
    exit 1
  fi
fi

if [ "${1:-}" = "--print-env" ]; then
  echo "export PATH=\"$WORKER_BUILD_ROOT/bin:$PWD/node_modules/.bin:\$PATH\""
  echo "export WASM_BINDGEN_BIN=\"$WASM_BINDGEN_ROOT/bin/wasm-bindgen\""
  echo "export WASM_OPT_BIN=\"$PWD/node_modules/.bin/wasm-opt\""
  echo "export ESBUILD_BIN=\"$PWD/node_modules/.bin/esbuild\""
fi
