#!/usr/bin/env node
// `npm run new -- DIR [--name NAME] [--registry]`: writes a new worker project into DIR
// (outside this repository) from templates/starter/, depending on this checkout's crate by
// path, or with --registry on this crate's version from crates.io. Nothing is fetched but
// packages from the registries, later, by its own `npm test` / `npm run dev`.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const FRAMEWORK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STARTER = path.join(FRAMEWORK, "templates", "starter");
/** What the starter's files never carry along. */
const SKIP = new Set(["target", "node_modules", "build", ".wrangler", ".cache", ".dev.vars", "Cargo.lock"]);
/** Starter files kept under another name: cargo packages no directory that holds a Cargo.toml
 * (it would be a crate of its own), so the starter's manifest travels as a template. */
const RENAMED = new Map([["Cargo.toml.template", "Cargo.toml"]]);

const USAGE = `usage: npm run new -- DIR [--name NAME] [--registry]

Writes a new SMS worker project into DIR (which must not exist, or be empty): a crate of its own
with the starter's greeter conversation and its tests, wrangler.toml and package.json
(npm test, npm run dev, npm run deploy), depending on this checkout by path.

  --name NAME   the crate's and the worker's name (default: DIR's last part)
  --registry    depend on this crate's version from crates.io (sms-conversation-worker
                = "${version()}") instead of this checkout's path
  --inside      allow DIR inside this repository (its benchmarks do; the project is still its
                own workspace)`;

/** This crate's version, from its Cargo.toml's [package] (as written here, or as cargo
 * rewrites it in the package). */
export function version() {
  const toml = fs.readFileSync(path.join(FRAMEWORK, "Cargo.toml"), "utf8");
  const table = /^\[package\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(toml);
  const m = table && /^version\s*=\s*"([^"]+)"/m.exec(table[1]);
  if (!m) throw new Error(`${path.join(FRAMEWORK, "Cargo.toml")} names no version in [package]`);
  return m[1];
}

/** A crate and worker name from `raw`: lowercase letters, digits and dashes. */
export function projectName(raw) {
  const name = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").replace(/^(\d)/, "sms-$1");
  return name || "sms-worker";
}

/** Writes the project; returns the files written (relative to `dir`). */
export function create(dir, { name = projectName(path.basename(path.resolve(dir))), inside: allowInside = false, registry = false } = {}) {
  dir = path.resolve(dir);
  const inside = path.relative(FRAMEWORK, dir);
  if (!allowInside && !inside.startsWith("..") && !path.isAbsolute(inside)) {
    throw new Error(`${dir} is inside this repository; a project lives outside it (its own workspace)`);
  }
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  const written = [];
  const copy = (from, to) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue;
      const [src, dst] = [path.join(from, entry.name), path.join(to, RENAMED.get(entry.name) ?? entry.name)];
      if (entry.isDirectory()) {
        fs.mkdirSync(dst, { recursive: true });
        copy(src, dst);
      } else {
        fs.copyFileSync(src, dst);
        written.push(path.relative(dir, dst));
      }
    }
  };
  fs.mkdirSync(dir, { recursive: true });
  copy(STARTER, dir);
  const edit = (file, change) => fs.writeFileSync(path.join(dir, file), change(fs.readFileSync(path.join(dir, file), "utf8")));
  const dep = registry ? `version = ${JSON.stringify(version())}` : `path = ${JSON.stringify(FRAMEWORK)}`;
  edit("Cargo.toml", (t) => t.replace(/^name = "sms-starter"$/m, `name = "${name}"`).replaceAll('path = "../.."', dep));
  edit("wrangler.toml", (t) => t.replace(/^name = "sms-starter"$/m, `name = "${name}"`));
  edit("package.json", (t) => t.replace(/"name": "sms-starter"/, `"name": "${name}"`));
  edit("package-lock.json", (t) => t.replace(/"name": "sms-starter"/g, `"name": "${name}"`));
  // The framework's lock as the starting point: the project builds with the versions this
  // crate is tested with (wasm-bindgen's among them, which its CLI must match).
  fs.copyFileSync(path.join(FRAMEWORK, "Cargo.lock"), path.join(dir, "Cargo.lock"));
  written.push("Cargo.lock");
  return written;
}

function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: "string" }, inside: { type: "boolean" }, registry: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  try {
    const dir = path.resolve(positionals[0]);
    const files = create(dir, { ...(values.name ? { name: projectName(values.name) } : {}), inside: values.inside, registry: values.registry });
    console.log(`Created ${dir} (${files.length} files). Next:\n  cd ${dir}\n  npm test        # the greeter's tests, then the wasm build\n  npm run dev     # serves it at http://127.0.0.1:8787/sms`);
    return 0;
  } catch (e) {
    console.error(`npm run new: ${e.message}`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
