#!/usr/bin/env bash
# `npm test`: set up, test the core natively, build the worker, test it end to end in workerd.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --print-env)"

echo "== cargo test (native core)"
cargo test --locked

echo "== build the worker"
bash scripts/build.sh

echo "== end-to-end tests (Miniflare / workerd)"
# One file at a time: each starts its own workerd, and the machine has two cores.
# Miniflare would otherwise fetch request.cf data from the internet at start-up.
export CLOUDFLARE_CF_FETCH_ENABLED=false
node --test --test-concurrency=1 --test-reporter=spec "tests/*.test.mjs"
