// Starts the dev phone (scripts/phone.mjs) as `npm run phone` would, and a headless Chromium to
// drive it with playwright-core.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "./worker.mjs";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

/**
 * Runs `node scripts/phone.mjs --port 0 …args` and resolves, once it prints its address, to
 * { url, output(), stop() }. The first start builds sms-inspect with cargo (a minute or two).
 */
export function startPhoneServer(args, { timeout = 15 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "scripts/phone.mjs"), "--port", "0", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let done = false;
    const exited = new Promise((r) => child.on("exit", r));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    };
    const timer = setTimeout(() => {
      fail(new Error(`the phone did not start in ${timeout / 1000} s:\n${out}`));
      stop();
    }, timeout);
    const fail = (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    };
    child.stderr.on("data", (d) => (out += d));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /Dev phone: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({ url: m[1], output: () => out, stop });
      }
    });
    child.on("error", fail);
    child.on("exit", (code) => fail(new Error(`the phone exited (${code}) before starting:\n${out}`)));
  });
}

/** Headless Chromium (Debian's), with a new empty profile. */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run bash scripts/setup.sh as root, or apt-get install chromium`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "phone-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 860 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Retries `check` (which throws while its condition does not hold) until it passes or
 * `timeout` ms have gone by, then throws its last error: expect.poll for node:test.
 */
export async function eventually(check, { timeout = 15_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
