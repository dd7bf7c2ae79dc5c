#!/usr/bin/env bash
# The crate as a registry user gets it: packs it with `cargo package`, unpacks the .crate
# outside the repository, makes a project from the unpacked crate with its `npm run new`, runs
# that project's `npm test` (its cargo test and its wasm build), then `cargo publish --dry-run`.
# CI runs it after `npm test` (.ci/run). Everything builds in one target directory
# (SMS_WORKER_PACKAGE_TARGET, default target/package-check), kept between runs: the unpacked
# crate's folder changes nothing in what cargo has built, so a later run compiles only the
# crate and the project again.
set -euo pipefail
FRAMEWORK="$(cd "$(dirname "$0")/.." && pwd)"
cd "$FRAMEWORK"
export CARGO_TARGET_DIR="${SMS_WORKER_PACKAGE_TARGET:-$FRAMEWORK/target/package-check}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sms-package-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS
say() { echo "[package-check] $*" >&2; }

# --allow-dirty: what is checked is the working tree's files, committed or not (CI's clone is
# clean anyway); the verifying build is the project's and the dry run's, below.
say "cargo package"
cargo package --locked --allow-dirty --no-verify
VERSION=$(cargo metadata --no-deps --format-version 1 |
  node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).packages.find((p) => p.name === "sms-conversation-worker").version)')
CRATE="$CARGO_TARGET_DIR/package/sms-conversation-worker-$VERSION.crate"
[ -f "$CRATE" ] || { say "error: cargo package wrote no $CRATE"; exit 1; }
say "$CRATE: $(wc -c < "$CRATE") bytes, $(tar -tzf "$CRATE" | wc -l) files"

tar -xzf "$CRATE" -C "$WORK"
UNPACKED="$WORK/sms-conversation-worker-$VERSION"
say "npm run new, from the unpacked crate"
(cd "$UNPACKED" && npm run --silent new -- "$WORK/project" --name package-check)
grep -qF "path = \"$UNPACKED\"" "$WORK/project/Cargo.toml" || {
  say "error: the project does not depend on the unpacked crate"
  exit 1
}

say "the project's npm test"
(cd "$WORK/project" && npm test)
[ -s "$WORK/project/build/index_bg.wasm" ] || { say "error: the project's npm test built no wasm"; exit 1; }
# No folder of this machine in the wasm: the build trims them from the panic locations.
for dir in "$HOME" "$WORK" "$FRAMEWORK"; do
  if grep -qaF "$dir/" "$WORK/project/build/index_bg.wasm"; then
    say "error: the project's wasm names $dir"
    exit 1
  fi
done

say "cargo publish --dry-run"
cargo publish --locked --allow-dirty --dry-run

say "ok ($((SECONDS - started)) s)"
