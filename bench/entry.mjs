// The built worker's own path, in-process: its JS entry, glue and wasm loaded into this Node
// process (the V8 workerd embeds) and called as workerd calls `fetch`, without workerd's HTTP
// or its noise. Message 10 of a pair, again and again (a retry, as bench/workerd.mjs's steady
// request), each build in turn, 7 rounds; CPU µs per call, median. For an A/B of a change on
// the path between the request and the wasm, which workerd's round-to-round spread (±5 µs)
// hides: a µs here is a µs of workerd's CPU per webhook. `Response` and `console.log` are
// stand-ins (what they cost is the same for every build).
//   node bench/entry.mjs base=/tmp/build-base new=build        (each a scripts/build.sh output)
// Runs each configuration (signed: HISTORY_TURNS=0; the defaults) in a process of its own:
// an isolate reads its configuration once.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AUTH_TOKEN, SESSION_SECRET, sign, smsParams } from "../tests/helpers/worker.mjs";
import { elsewhere } from "./cold-caches.mjs";

const CONFIGS = { signed: { HISTORY_TURNS: "0" }, defaults: {} };
const ROUNDS = 7;
const CALLS = 20000;
const COLD_CALLS = 1000;
const builds = process.argv.slice(2).map((arg) => arg.split("="));
if (builds.length === 0 || builds.some((b) => b.length !== 2)) {
  console.error("usage: node bench/entry.mjs <name>=<build dir> ...");
  process.exit(2);
}

if (!process.env.ENTRY_CONFIG) {
  for (const config of Object.keys(CONFIGS)) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      env: { ...process.env, ENTRY_CONFIG: config },
    });
    process.stdout.write(out);
  }
  process.exit(0);
}

const config = process.env.ENTRY_CONFIG;
const env = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET, ...CONFIGS[config] };
const ctx = { waitUntil() {}, passThroughOnException() {} };
const url = "http://127.0.0.1:8787/sms";
const print = console.log;
console.log = () => {};
globalThis.Response = class {
  constructor(body, init) {
    this.status = init.status;
    this.headers = init.headers;
  }
};

/** The bundle, its wasm import made a module read from the build's directory. */
async function load(name, dir) {
  const wasm = path.resolve(dir, "index_bg.wasm");
  const source = fs
    .readFileSync(path.join(dir, "index.js"), "utf8")
    .replace(/import ?(\w+) ?from ?"\.\/index_bg\.wasm";/, (_, v) => `const ${v} = new WebAssembly.Module(__wasm);`);
  const file = path.join(os.tmpdir(), `sms-entry-${process.pid}-${name}.mjs`);
  fs.writeFileSync(file, `const __wasm = (await import("node:fs")).readFileSync(${JSON.stringify(wasm)});\n${source}`);
  try {
    return (await import(file)).default;
  } finally {
    fs.rmSync(file);
  }
}

/** A request as the entry reads it: the headers by `get`, the body by `arrayBuffer`. */
function requestOf(n, cookie) {
  const params = smsParams({ from: "+14155550100", body: `message ${n} of a steady conversation`, sid: "SM" + "b".repeat(24) + String(n).padStart(8, "0") });
  const body = new TextEncoder().encode(new URLSearchParams(params).toString());
  const headers = { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sign(url, params), "content-length": String(body.length) };
  if (cookie) headers.cookie = cookie;
  return () => ({ method: "POST", url, headers: { get: (k) => headers[k] ?? null }, arrayBuffer: async () => body.buffer.slice(0) });
}

const workers = [];
for (const [name, dir] of builds) {
  const worker = await load(name, dir);
  let cookie = null;
  for (let n = 1; n <= 9; n++) {
    const response = await worker.fetch(requestOf(n, cookie)(), env, ctx);
    cookie = response.headers["set-cookie"]?.split(";")[0] ?? cookie;
  }
  const request = requestOf(10, cookie);
  const first = await worker.fetch(request(), env, ctx);
  if (first.status !== 200) throw new Error(`${name}: message 10 answered ${first.status}`);
  workers.push({ name, worker, request, cookieBytes: cookie.length, samples: [] });
}
for (let round = 0; round < ROUNDS; round++) {
  for (const w of workers) {
    for (let i = 0; i < CALLS / 10; i++) await w.worker.fetch(w.request(), env, ctx);
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await w.worker.fetch(w.request(), env, ctx);
    const used = process.cpuUsage(start);
    w.samples.push((used.user + used.system) / CALLS);
  }
}
// One call at a time after `elsewhere()` (bench/cold-caches.mjs, as bench/wasm-core's "cold
// caches" column): workerd's own work between two webhooks leaves the caches cold.
for (let round = 0; round < ROUNDS; round++) {
  for (const w of workers) {
    const xs = [];
    for (let i = 0; i < COLD_CALLS; i++) {
      elsewhere();
      const t = process.hrtime.bigint();
      await w.worker.fetch(w.request(), env, ctx);
      xs.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    xs.sort((a, b) => a - b);
    (w.cold ??= []).push(xs[xs.length >> 1]);
  }
}
for (const w of workers) {
  const sorted = [...w.samples].sort((a, b) => a - b);
  print(
    `${config} ${w.name} (cookie ${w.cookieBytes} bytes): ${sorted[sorted.length >> 1].toFixed(2)} µs per webhook; rounds ${w.samples.map((s) => s.toFixed(1)).join(" ")}; ` +
      `one call after cold caches ${[...w.cold].sort((a, b) => a - b)[w.cold.length >> 1].toFixed(2)} µs (rounds ${w.cold.map((s) => s.toFixed(1)).join(" ")})`,
  );
}
