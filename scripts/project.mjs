#!/usr/bin/env node
// The commands of a user's project (its package.json runs them through its sms-worker.mjs, with
// SMS_WORKER_PROJECT set to the project): the same builds, dev server, dev phone and
// simulator this repository uses, run from the project.
//
//   build            the wasm, its glue and the JS entry into build/ (wrangler.toml's [build])
//   dev [ARGS]       set up, then `wrangler dev ARGS` (builds through [build]), with a local
//                    Messages API when no real account is configured (dev-messages.mjs)
//   test             the project's `cargo test`, then the wasm build, with its size
//   deploy [ARGS]    `wrangler deploy ARGS`
//   phone | sms | chat [ARGS]   the dev phone and the simulator (src/guide/dev_tools.md)
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const FRAMEWORK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PROJECT = path.resolve(process.env.SMS_WORKER_PROJECT ?? process.cwd());
const [command, ...args] = process.argv.slice(2);
const env = {
  ...process.env,
  SMS_WORKER_PROJECT: PROJECT,
  PATH: `${path.join(PROJECT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
};

function run(program, argv, options = {}) {
  const r = spawnSync(program, argv, { stdio: "inherit", cwd: PROJECT, env, ...options });
  if (r.error) {
    console.error(`[sms-worker] cannot run ${program}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const setup = () => run("bash", [path.join(FRAMEWORK, "scripts", "setup.sh")]);
const build = () => run("bash", [path.join(FRAMEWORK, "scripts", "build.sh"), PROJECT]);

/** Runs one of the framework's node scripts for the project. Its bare imports (`twilio`)
 * resolve from the project's node_modules when the framework has none of its own (a git or
 * crates.io dependency). */
function script(name) {
  const hook = pathToFileURL(path.join(FRAMEWORK, "scripts", "project-resolve.mjs")).href;
  run(process.execPath, ["--import", hook, path.join(FRAMEWORK, "scripts", name), ...args]);
}

switch (command) {
  case "build":
    build();
    break;
  case "dev":
    setup();
    if (!fs.existsSync(path.join(PROJECT, ".dev.vars")) && fs.existsSync(path.join(PROJECT, ".dev.vars.example"))) {
      fs.copyFileSync(path.join(PROJECT, ".dev.vars.example"), path.join(PROJECT, ".dev.vars"));
      console.error("[dev] created .dev.vars from .dev.vars.example (local secrets; never commit it)");
    }
    // `wrangler dev`, with a local Messages API when .dev.vars names no real account.
    run(process.execPath, [path.join(FRAMEWORK, "scripts", "dev-messages.mjs"), ...args]);
    break;
  case "test":
    // No setup first: cargo test needs none of it, and the build runs it.
    console.error("== cargo test");
    run("cargo", ["test"]);
    console.error("== build the worker (wasm)");
    build();
    break;
  case "deploy":
    setup();
    run("wrangler", ["deploy", ...args]);
    break;
  case "phone":
    script("phone.mjs");
    break;
  case "sms":
    script("sms.mjs");
    break;
  case "chat":
    args.unshift("--chat");
    script("sms.mjs");
    break;
  default:
    console.error("usage: node sms-worker.mjs build | dev | test | deploy | phone | sms | chat [args]");
    process.exit(2);
}
