// `npm run dev` as the README tells a user to run it: setup, .dev.vars, `wrangler dev`
// (which rebuilds the worker through wrangler.toml's [build]), then a signed Twilio webhook
// over real HTTP on 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Phone, ROOT } from "./helpers/worker.mjs";

const START_TIMEOUT_MS = 180_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** TWILIO_AUTH_TOKEN from .dev.vars, or from .dev.vars.example that `npm run dev` copies. */
function devAuthToken() {
  const file = fs.existsSync(path.join(ROOT, ".dev.vars")) ? ".dev.vars" : ".dev.vars.example";
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const m = /^\s*TWILIO_AUTH_TOKEN\s*=\s*(.*?)\s*$/m.exec(text);
  assert.ok(m && m[1], `${file} sets TWILIO_AUTH_TOKEN`);
  return m[1].replace(/^(["'])(.*)\1$/, "$2");
}

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code !== "ESRCH";
  }
}

test("npm run dev serves the worker on 127.0.0.1 and answers a signed webhook", { timeout: START_TIMEOUT_MS + 60_000 }, async (t) => {
  const token = devAuthToken();
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    "npm",
    ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort)],
    {
      cwd: ROOT,
      detached: true, // its own process group: npm, bash, wrangler, esbuild, workerd
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_HIDE_BANNER: "true", // also skips the npm update check
        CLOUDFLARE_CF_FETCH_ENABLED: "false", // no request.cf download
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
    },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));

  t.after(async () => {
    if (groupAlive(child.pid)) process.kill(-child.pid, "SIGTERM");
    for (let i = 0; i < 100 && groupAlive(child.pid); i++) await sleep(100);
    if (groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
    for (let i = 0; i < 50 && groupAlive(child.pid); i++) await sleep(100);
    assert.equal(groupAlive(child.pid), false, "no npm/wrangler/workerd process of the dev server remains");
  });

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let info = null;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (res.status === 200) {
        info = text;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  assert.ok(info !== null, `npm run dev did not answer within ${START_TIMEOUT_MS / 1000}s (exit: ${JSON.stringify(exited)}):\n${output}`);
  assert.ok(info.includes(`${base}/sms`), `the info page names the webhook URL:\n${info}`);
  assert.ok(fs.existsSync(path.join(ROOT, ".dev.vars")), "npm run dev leaves a .dev.vars");

  const phone = new Phone(fetch, `${base}/sms`, "+14155550187", { token });
  const first = await phone.send("Hello from the dev test");
  assert.equal(first.status, 200, `${first.text}\n${output}`);
  assert.match(first.headers.get("content-type"), /^text\/xml/);
  assert.ok(first.text.startsWith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'), first.text);
  assert.equal(first.reply, "Hello, thanks for the new message.");
  assert.match(first.setCookie ?? "", /^sms_state=[^;]+;/);

  const second = await phone.send("And again");
  assert.equal(second.status, 200, second.text);
  assert.equal(second.reply, "Hello, thanks for message number 2");

  // A webhook signed with another token is refused by the dev server too.
  const forged = await new Phone(fetch, `${base}/sms`, "+14155550187", { token: "wrong" }).send("x");
  assert.equal(forged.status, 403);
});
