#!/usr/bin/env bash
# The native criterion bench (benches/webhook.rs), then a table of medians from
# criterion's estimates. Built in a throwaway crate in bench/.native that compiles the same
# file against the main crate with the main crate's release profile (Cargo.toml's
# [profile.release…] sections, copied): `cargo bench` in the main crate would also build
# the sms-inspect binary, whose copy of the library (panic = "abort") collides with the
# bench's (unwind).
# BENCH_OPT_LEVEL=3 overrides the opt-level (CARGO_PROFILE_BENCH_OPT_LEVEL), for comparison.
# Arguments go to criterion (e.g. a filter: bench/native.sh webhook/).
set -euo pipefail
if [ -n "${BENCH_OPT_LEVEL:-}" ]; then export CARGO_PROFILE_BENCH_OPT_LEVEL="$BENCH_OPT_LEVEL"; fi
cd "$(dirname "$0")/.."
ROOT=$PWD

NATIVE="$ROOT/bench/.native"
mkdir -p "$NATIVE/src"
cat > "$NATIVE/Cargo.toml" <<TOML
[package]
name = "webhook-bench"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[lib]
path = "src/lib.rs"

[dependencies]
sms-conversation-worker = { path = "$ROOT", features = ["bench-stages"] }
serde_urlencoded = "0.7"
criterion = { version = "0.8", default-features = false }
pollster = "1"

[[bench]]
name = "webhook"
path = "$ROOT/benches/webhook.rs"
harness = false

TOML
# The main crate's release profile (and its per-package overrides), which benches inherit.
awk '/^\[profile\.release(\.|\])/ { on = 1 } /^\[/ && !/^\[profile\.release/ { on = 0 } on' "$ROOT/Cargo.toml" >> "$NATIVE/Cargo.toml"
: > "$NATIVE/src/lib.rs"
[ -f "$NATIVE/Cargo.lock" ] || cp "$ROOT/Cargo.lock" "$NATIVE/Cargo.lock"
TARGET="$NATIVE/target"
rm -rf "$TARGET/criterion"
(cd "$NATIVE" && cargo bench --bench webhook -- "$@" >&2)

# Medians (criterion's point estimate of the median, ns) from target/criterion/*/new/estimates.json.
node - "$TARGET/criterion" <<'JS'
const fs = require("fs"), path = require("path");
const root = process.argv[2];
const rows = [];
for (const group of fs.readdirSync(root).sort()) {
  const gdir = path.join(root, group);
  if (!fs.statSync(gdir).isDirectory() || group === "report") continue;
  const walk = (dir, name) => {
    const est = path.join(dir, "new", "estimates.json");
    if (fs.existsSync(est)) {
      const bm = JSON.parse(fs.readFileSync(path.join(dir, "new", "benchmark.json"), "utf8"));
      const e = JSON.parse(fs.readFileSync(est, "utf8"));
      rows.push({ group: bm.group_id, fn: bm.function_id ?? bm.title, median_ns: e.median.point_estimate });
      return;
    }
    for (const sub of fs.readdirSync(dir)) {
      const p = path.join(dir, sub);
      if (fs.statSync(p).isDirectory() && sub !== "report" && sub !== "new" && sub !== "base") walk(p);
    }
  };
  walk(gdir);
}
console.log(JSON.stringify(rows));
JS
