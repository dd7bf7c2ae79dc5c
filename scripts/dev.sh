#!/usr/bin/env bash
# `npm run dev [-- wrangler dev args]`: set up, build, and serve the worker locally.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
  echo "[dev] created .dev.vars from .dev.vars.example (local secrets; never commit it)" >&2
fi
export PATH="$PWD/node_modules/.bin:$PATH"
exec wrangler dev "$@"
