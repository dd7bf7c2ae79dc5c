// The crate as a registry user gets it, the quick checks (scripts/package-check.sh, run by CI,
// builds a project from the packed crate): what `cargo package` puts in, `npm run new`'s
// --registry form, and one version everywhere a user reads it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// Not from helpers/worker.mjs: these checks need neither Miniflare nor a build.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The files `cargo package` would pack, relative to the crate. */
function packageList() {
  const r = spawnSync("cargo", ["package", "--list", "--allow-dirty", "--locked"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, `cargo package --list failed:\n${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

/** Every file under `dir` (relative to ROOT), as `npm run new` would see it. */
function filesUnder(dir) {
  return fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** This crate's version, from Cargo.toml's [package]. */
function crateVersion() {
  const toml = fs.readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  return /^\[package\][\s\S]*?^version = "([^"]+)"/m.exec(toml)[1];
}

test("the package holds what npm run new and a project's build read, and none of the repository's tests", () => {
  const files = packageList();
  const packed = new Set(files);
  // The starter whole, its manifest under the name cargo packs (a Cargo.toml would drop the folder).
  const starter = filesUnder("templates/starter");
  assert.ok(starter.includes("templates/starter/Cargo.toml.template"), "the starter's manifest is a template");
  assert.ok(!starter.includes("templates/starter/Cargo.toml"), "no Cargo.toml in the starter: cargo would leave it out");
  for (const f of starter) assert.ok(packed.has(f), `the package has ${f}`);
  // What `npm run new`, sms-worker.mjs and the build read in the framework.
  for (const f of ["package.json", "Cargo.lock", "scripts/new.mjs", "scripts/project.mjs", "scripts/project-resolve.mjs", "scripts/build.sh", "scripts/setup.sh", "scripts/rustc-trim-paths.sh", "scripts/dev-messages.mjs", "scripts/phone.mjs", "scripts/phone/index.html", "scripts/sms.mjs", "src/entry.mjs", "src/entry-objects.mjs", "src/entry-flows.mjs"]) {
    assert.ok(packed.has(f), `the package has ${f}`);
  }
  for (const f of ["README.md", "CHANGELOG.md", "LICENSE", "src/guide/testing.md"]) assert.ok(packed.has(f), `the package has ${f}`);
  const repositoryOnly = files.filter((f) => /^(tests|bench|benches|fuzz|worker|target|node_modules|build|docs)\//.test(f));
  assert.deepEqual(repositoryOnly, [], "the package carries none of the repository's own folders");
});

test("npm run new --registry depends on this version from crates.io, not on the checkout", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sms-registry-"));
  try {
    const project = path.join(dir, "from-registry");
    const r = spawnSync("node", ["scripts/new.mjs", project, "--registry"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const toml = fs.readFileSync(path.join(project, "Cargo.toml"), "utf8");
    const deps = toml.split("\n").filter((l) => l.startsWith("sms-conversation-worker = "));
    assert.equal(deps.length, 2, "the dependency and the dev-dependency");
    for (const dep of deps) {
      assert.ok(dep.startsWith(`sms-conversation-worker = { version = "${crateVersion()}", default-features = false`), dep);
    }
    assert.doesNotMatch(toml, /path = /, "no path to this checkout");
    assert.match(toml, /^name = "from-registry"$/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the version agrees in Cargo.toml, Cargo.lock, package.json, CHANGELOG.md and the README's dependency lines", () => {
  const version = crateVersion();
  const [major, minor] = version.split(".");
  const lock = fs.readFileSync(path.join(ROOT, "Cargo.lock"), "utf8");
  assert.match(lock, new RegExp(`^name = "sms-conversation-worker"\\nversion = "${version.replaceAll(".", "\\.")}"$`, "m"), "Cargo.lock");
  assert.equal(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version, version, "package.json");
  const changelog = fs.readFileSync(path.join(ROOT, "CHANGELOG.md"), "utf8");
  assert.equal(/^## \[(\d[^\]]*)\]/m.exec(changelog)?.[1], version, "CHANGELOG.md's latest release");
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const lines = readme.split("\n").filter((l) => /sms-conversation-worker = \{ (version|git)/.test(l));
  assert.ok(lines.length >= 2, "the README shows the dependency lines");
  for (const line of lines) {
    const named = /version = "([^"]+)"/.exec(line)?.[1] ?? /tag = "v([^"]+)"/.exec(line)?.[1];
    assert.ok(named === `${major}.${minor}` || named === version, `${line} names ${version}`);
  }
});
