// The deploy path: `npm run deploy -- --dry-run --outdir DIR` (scripts/deploy.sh → setup → wrangler
// deploy, whose [build] runs scripts/build.sh) must work offline and without a Cloudflare login,
// and the bundle it would upload must be the built worker — and must work: the test serves that
// bundle in workerd with a secret from `npm run secret` and texts it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT } from "./helpers/worker.mjs";
import { sendSms } from "../scripts/sms.mjs";

let tmp;
let trap;
const trapped = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sms-deploy-"));
  // Anything that tries to reach the network through the proxy variables lands here.
  trap = net.createServer((socket) => {
    socket.once("data", (d) => trapped.push(String(d).split("\r\n")[0]));
    socket.destroy();
  });
  await new Promise((resolve) => trap.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  trap?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill(), 100_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test("npm run deploy -- --dry-run bundles the built worker offline, without a login, and the bundle works", { timeout: 110_000 }, async (t) => {
  const outdir = path.join(tmp, "bundle");
  const proxy = `http://127.0.0.1:${trap.address().port}`;
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(CLOUDFLARE_|CF_)|_proxy$|_PROXY$/i.test(k)) delete env[k];
  }
  // No node_modules/.bin on PATH: deploy.sh must put it there itself.
  env.PATH = (env.PATH ?? "").split(path.delimiter).filter((p) => !p.includes("node_modules")).join(path.delimiter);
  Object.assign(env, {
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: path.join(tmp, "config"), // no wrangler login here
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: "",
  });
  // Where the system allows it, run without any network at all (a fresh network namespace:
  // wrangler's update check, which ignores the proxy variables, cannot get out either).
  const isolated = (await run("unshare", ["-rn", "true"], env).catch(() => ({ code: 1 }))).code === 0;
  const deploy = ["bash", "scripts/deploy.sh", "--dry-run", "--outdir", outdir];
  const started = Date.now();
  const r = await run(isolated ? "unshare" : deploy[0], isolated ? ["-rn", ...deploy] : deploy.slice(1), env);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  assert.equal(r.code, 0, `deploy --dry-run failed after ${seconds}s:\n${r.out}`);
  assert.match(r.out, /--dry-run: exiting now/);
  assert.deepEqual(trapped, [], "the dry run tried to reach the network");
  t.diagnostic(`deploy --dry-run (setup + [build] + bundle) took ${seconds}s${isolated ? ", without network" : ""}`);

  // The bundle: the JS entry and the wasm it imports, which is build/'s wasm.
  const files = fs.readdirSync(outdir);
  const wasms = files.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasms.length, 1, `bundle files: ${files}`);
  assert.ok(files.includes("index.js"), `bundle files: ${files}`);
  const entry = fs.readFileSync(path.join(outdir, "index.js"), "utf8");
  assert.ok(entry.includes(`from "./${wasms[0]}"`), "the entry imports the bundled wasm");
  const bundled = fs.readFileSync(path.join(outdir, wasms[0]));
  const built = fs.readFileSync(path.join(ROOT, "build/index_bg.wasm"));
  assert.equal(bundled.length, built.length);
  assert.ok(bundled.equals(built), "the bundled wasm is build/index_bg.wasm");
  assert.ok(bundled.subarray(0, 4).equals(Buffer.from("\0asm")));

  // `npm run secret` prints a fresh secret of at least 32 bytes.
  const secrets = [];
  for (let i = 0; i < 2; i++) {
    const s = await run("npm", ["run", "--silent", "secret"], { ...process.env });
    assert.equal(s.code, 0, s.out);
    const secret = s.out.trim();
    assert.match(secret, /^[A-Za-z0-9_-]+$/);
    assert.ok(Buffer.from(secret, "base64url").length >= 32, `secret ${secret.length} chars`);
    secrets.push(secret);
  }
  assert.notEqual(secrets[0], secrets[1]);

  // What would be uploaded, with the secrets `wrangler secret put` would set, answers Twilio.
  const token = crypto.randomBytes(16).toString("hex");
  // Miniflare as in tests/helpers/worker.mjs, on the bundle instead of build/.
  const mf = new Miniflare({
    name: "sms-conversation-worker",
    modules: true,
    scriptPath: path.join(outdir, "index.js"),
    modulesRoot: outdir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"))[1],
    bindings: { TWILIO_AUTH_TOKEN: token, SESSION_SECRET: secrets[0] },
    port: 0,
  });
  try {
    const url = new URL("/sms", await mf.ready).href;
    const opts = { url, token, from: "+14155550009", jarFile: path.join(tmp, "jar.json") };
    assert.deepEqual((await sendSms({ ...opts, body: "hi" })).replies, ["Hello, thanks for the new message."]);
    assert.deepEqual((await sendSms({ ...opts, body: "again" })).replies, ["Hello, thanks for message number 2"]);
  } finally {
    await mf.dispose();
  }
});
