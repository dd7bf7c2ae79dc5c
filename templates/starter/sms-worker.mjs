#!/usr/bin/env node
// Runs a command of the sms-conversation-worker crate this project depends on, whatever its
// version or source (path, git or crates.io): Cargo says where the crate is, and its
// scripts/project.mjs does the work (build, dev, test, deploy, phone, sms, chat). This file
// is the same in every project and never changes with the framework's version.
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const project = path.dirname(fileURLToPath(import.meta.url));
let metadata;
try {
  const out = execFileSync("cargo", ["metadata", "--format-version", "1", "--manifest-path", path.join(project, "Cargo.toml")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
  });
  metadata = JSON.parse(out);
} catch (e) {
  console.error(`[sms-worker] cargo metadata failed (${e.message}); is Rust installed (rustup)?`);
  process.exit(1);
}
const framework = metadata.packages.find((p) => p.name === "sms-conversation-worker");
if (!framework) {
  console.error("[sms-worker] Cargo.toml does not depend on sms-conversation-worker");
  process.exit(1);
}
const cli = path.join(path.dirname(framework.manifest_path), "scripts", "project.mjs");
const run = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, SMS_WORKER_PROJECT: project },
});
process.exit(run.status ?? 1);
