#!/usr/bin/env bash
# `npm run dev [-- wrangler dev args]`: set up, build, and serve the worker locally (with a local
# Messages API when no real account is configured).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
  echo "[dev] created .dev.vars from .dev.vars.example (local secrets; never commit it)" >&2
fi
export PATH="$PWD/node_modules/.bin:$PATH"
# `wrangler dev "$@"`, beside a local Messages API for the worker's own sends when .dev.vars
# names no real Twilio account (scripts/dev-messages.mjs).
exec node scripts/dev-messages.mjs "$@"
