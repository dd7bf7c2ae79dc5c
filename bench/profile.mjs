// Where a webhook's CPU goes inside workerd: V8's sampling profiler, over the inspector
// protocol, while autocannon sends the steady-state request (as bench/workerd.mjs does).
// The worker runs with a copy of its wasm that keeps function names (bench/named-wasm.sh),
// so wasm frames are named. Prints self time by function and by category.
//   node bench/profile.mjs <named.wasm> [--config default|signed] [--seconds 5] [--top 25]
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import { builtWorkerModules, httpClient, pairNumber, runConversations, startWorkerd } from "../scripts/load.mjs";
import { AUTH_TOKEN, ROOT, SESSION_SECRET, replyText, sign, smsParams } from "../tests/helpers/worker.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: "string", default: "default" },
    seconds: { type: "string", default: "5" },
    top: { type: "string", default: "25" },
    json: { type: "string" },
    build: { type: "string" },
    js: { type: "string" },
  },
});
const namedWasm = positionals[0];
if (!namedWasm && !values.js) throw new Error("usage: node bench/profile.mjs <named.wasm> [--config default|signed]");

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const modules = values.js
  ? [{ name: "index.mjs", type: "esModule", path: path.resolve(values.js) }]
  : builtWorkerModules(values.build ? path.resolve(values.build) : undefined).map((m) => (m.type === "wasm" ? { ...m, path: namedWasm } : m));
const bindings = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET };
if (values.config === "signed") bindings.HISTORY_TURNS = "0";
const inspectorPort = await freePort();
const pin = os.availableParallelism() >= 2;
const worker = await startWorkerd({
  modules,
  bindings,
  cpu: pin ? "1" : null,
  extraArgs: [`--inspector-addr=127.0.0.1:${inspectorPort}`],
});

try {
  // The steady-state request: message 10 with the cookie of message 9.
  const webhookUrl = `${worker.url}/sms`;
  // A JS floor counts nothing: it gets a cookie of the signed worker's size.
  const nine = values.js ? null : await runConversations({ webhookUrl, pairs: 1, messages: 9 });
  if (nine?.failures.length) throw new Error(JSON.stringify(nine.failures[0]));
  const params = smsParams({ from: pairNumber(0), body: "message 10 of a steady conversation", sid: "SM" + "c".repeat(32) });
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    "x-twilio-signature": sign(webhookUrl, params),
    cookie: nine ? nine.jars.get(pairNumber(0)) : `sms_state=2cs.AAAAAAAA.${"A".repeat(290)}.${"B".repeat(43)}`,
  };
  const body = new URLSearchParams(params).toString();
  const client = await httpClient(worker.url, 1);
  const check = await client.post("/sms", headers, body);
  await client.close();
  if (replyText(check.text) !== "Hello, thanks for message number 10") throw new Error(`unexpected: ${check.text}`);

  // The inspector: one target per worker.
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let nextId = 1;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 }); // µs

  // Warm up (tier-up to optimised code), then profile.
  const cannon = (duration) =>
    new Promise((resolve, reject) => {
      const args = [path.join(ROOT, "bench/cannon.mjs"), JSON.stringify({ url: webhookUrl, headers, body, connections: 8, duration })];
      const child = spawn(pin ? "taskset" : process.execPath, pin ? ["-c", "0", process.execPath, ...args] : args, {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", (code) => (code ? reject(new Error(`cannon ${code}`)) : resolve(JSON.parse(out))));
    });
  await cannon(2);
  await call("Profiler.start");
  const load = await cannon(Number(values.seconds));
  const { profile } = await call("Profiler.stop");
  ws.close();
  // --json: the raw profile (the inspector's Profile object), for a closer look.
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(profile));

  // Self time per node, from the samples.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const isLogKey = (key) => /^js\t__wbg_log_/.test(key);
  const byFunction = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const wasm = callFrame.url?.startsWith("wasm://");
    const name = callFrame.functionName || (callFrame.url ? `(anonymous ${path.basename(callFrame.url)}:${callFrame.lineNumber})` : "(root)");
    const key = `${wasm ? "wasm" : callFrame.url ? "js" : "v8"}\t${name}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    total += us;
  }
  const logUs = [...byFunction].filter(([k]) => isLogKey(k)).reduce((a, [, us]) => a + us, 0);
  const busy = total - (byFunction.get("v8\t(idle)") ?? 0) - logUs;
  // console.log is far dearer under the inspector (each call is also serialised for it):
  // it is reported on its own line and left out of the shares; bench/run.sh measures it apart.
  const isLog = (kind, name) => kind === "js" && /^__wbg_log_/.test(name);
  const category = (kind, name) => {
    if (isLog(kind, name)) return "console.log (inflated by the inspector; not in shares)";
    if (kind === "v8") return `V8/workerd ${name}`; // (program), (garbage collector), (root), Response…
    if (kind === "js") return "JS glue (wasm-bindgen / workers-rs shim)";
    if (/chacha20|poly1305|cipher|aead|quarter_round|sha2|sha1|sha256|hmac|hkdf|compress|digest/i.test(name)) return "wasm: crypto";
    if (/serde|postcard|json|urlencoded|base64|form_urlencoded|percent/i.test(name)) return "wasm: parsing, (de)serialisation, base64";
    if (/dlmalloc|alloc|memcpy|memmove|memset|realloc|free|drop_in_place/i.test(name)) return "wasm: allocator, memcpy, drops";
    if (/wasm_bindgen|js_sys|web_sys|worker::|worker_sys|__wbg|externref/i.test(name)) return "wasm: bindings (wasm-bindgen, worker)";
    return "wasm: other (mostly the inlined handler)";
  };
  const categories = new Map();
  for (const [key, us] of byFunction) {
    const [kind, name] = key.split("\t");
    if (name === "(idle)") continue;
    const c = category(kind, name);
    categories.set(c, (categories.get(c) ?? 0) + us);
  }
  const perReq = (us) => us / load.requests;
  const lines = [];
  lines.push(
    `profile: ${values.config} configuration, ${load.requests} requests in ${values.seconds} s (${load.rps.toFixed(0)} req/s under the profiler), ` +
      `JS thread busy ${perReq(busy).toFixed(1)} µs/request without console.log (+ ${perReq(logUs).toFixed(1)} µs in console.log under the inspector)`,
  );
  lines.push("");
  lines.push("| category | µs/request | share of busy |");
  lines.push("|:--|--:|--:|");
  for (const [c, us] of [...categories].sort((a, b) => b[1] - a[1])) {
    if (c.startsWith("console.log")) continue;
    lines.push(`| ${c} | ${perReq(us).toFixed(1)} | ${((100 * us) / busy).toFixed(1)}% |`);
  }
  lines.push("");
  lines.push(`| top ${values.top} functions by self time | kind | µs/request | share |`);
  lines.push("|:--|:--|--:|--:|");
  const top = [...byFunction].filter(([k]) => k !== "v8\t(idle)" && !isLogKey(k)).sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [key, us] of top) {
    const [kind, name] = key.split("\t");
    const short = name.replace(/::h[0-9a-f]{16}$/, "").replace(/\|/g, "\\|");
    lines.push(`| \`${short.length > 110 ? short.slice(0, 107) + "…" : short}\` | ${kind} | ${perReq(us).toFixed(2)} | ${((100 * us) / busy).toFixed(1)}% |`);
  }
  console.log(lines.join("\n"));
} finally {
  await worker.stop();
}
