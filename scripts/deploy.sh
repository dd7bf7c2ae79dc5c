#!/usr/bin/env bash
# `npm run deploy [-- wrangler deploy args]`: set up, then build and deploy with wrangler.
# wrangler.toml's [build] runs scripts/build.sh, so the deployed bundle is built the same way as
# for `npm run dev` and the tests. Needs `wrangler login` (or CLOUDFLARE_API_TOKEN) and, once,
#   wrangler secret put TWILIO_AUTH_TOKEN
#   wrangler secret put SESSION_SECRET      # npm run secret prints one
# `npm run deploy -- --dry-run --outdir dist` builds the bundle without uploading it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
exec wrangler deploy "$@"
