#!/usr/bin/env bash
# Builds the worker into build/ with worker-build, fed the locally installed tools.
# wrangler.toml's [build] runs this, so `wrangler dev` and `wrangler deploy` build the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --print-env)"
exec worker-build --release
