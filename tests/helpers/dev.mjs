// `npm run dev` in a project directory (this repository, or a project `npm run new` wrote),
// as the README tells a user to run it, on a free port of 127.0.0.1; stopped with its whole
// process group (npm, wrangler, esbuild, workerd).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const START_TIMEOUT_MS = 300_000;

export function freePort() {
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

/** TWILIO_AUTH_TOKEN from the project's .dev.vars, or the .dev.vars.example `npm run dev` copies. */
export function devAuthToken(dir) {
  const file = fs.existsSync(path.join(dir, ".dev.vars")) ? ".dev.vars" : ".dev.vars.example";
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  const m = /^\s*TWILIO_AUTH_TOKEN\s*=\s*(.*?)\s*$/m.exec(text);
  if (!m || !m[1]) throw new Error(`${file} in ${dir} sets no TWILIO_AUTH_TOKEN`);
  return m[1].replace(/^(["'])(.*)\1$/, "$2");
}

/** True while any process of the group `pgid` is alive. */
export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code !== "ESRCH";
  }
}

/**
 * Starts `npm run dev` in `dir` (with `args` for wrangler dev after its own) and waits until
 * GET / answers 200: { base, info, output(), exited(), stop() }. Throws (with the output) when
 * it does not start.
 */
export async function startDev(dir, { timeout = START_TIMEOUT_MS, args = [] } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    "npm",
    ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspectorPort), ...args],
    {
      cwd: dir,
      detached: true, // its own process group
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
  const stop = async () => {
    if (groupAlive(child.pid)) process.kill(-child.pid, "SIGTERM");
    for (let i = 0; i < 100 && groupAlive(child.pid); i++) await sleep(100);
    if (groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
    for (let i = 0; i < 50 && groupAlive(child.pid); i++) await sleep(100);
    return !groupAlive(child.pid);
  };

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (res.status === 200) return { base, info: text, output: () => output, exited: () => exited, stop };
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  await stop();
  throw new Error(`npm run dev in ${dir} did not answer within ${timeout / 1000}s (exit: ${JSON.stringify(exited)}):\n${output}`);
}
