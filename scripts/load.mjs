#!/usr/bin/env node
// Load test with nothing lost: the BUILT worker (build/index.js + its wasm) in bare
// `workerd serve`, driven like Twilio by many conversations at once. Each To/From pair has
// its own cookie jar and sends its messages strictly one after the other (Twilio waits for
// the reply before the next webhook of a pair); the pairs run concurrently. Every request
// is signed with the official `twilio` package, and every reply is checked: message k of a
// pair must be answered "Hello, thanks for message number k", with a 200 and a cookie.
//
//   npm run load -- [--pairs 200] [--messages 20] [--kv] [--url http://host/sms]
//
// --kv     binds CONVERSATIONS to a KV namespace backed by a local directory; after the
//          run, every pair sends one more message WITHOUT its cookie, whose count must
//          come back from KV (M+1).
// --url    load an already running worker instead (e.g. `wrangler dev`); it must use the
//          test secrets of tests/helpers/worker.mjs (--token to override the auth token).
//
// Exits 1 when any reply is missing, late in the count, not 200, or lacks its cookie.
// The workerd launcher below is reused by tests/load.test.mjs and bench/.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import readline from "node:readline";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import {
  AUTH_TOKEN,
  ROOT,
  SESSION_SECRET,
  TWILIO_NUMBER,
  replyText,
  sign,
  smsParams,
} from "../tests/helpers/worker.mjs";

export const WORKERD = path.join(ROOT, "node_modules/.bin/workerd");
export const COMPATIBILITY_DATE = "2026-07-01";

/** A capnp text literal: printable ASCII as is, every other byte as \xHH. */
function capnpString(value) {
  let out = '"';
  for (const byte of Buffer.from(String(value), "utf8")) {
    const c = String.fromCharCode(byte);
    out += byte >= 0x20 && byte < 0x7f && c !== '"' && c !== "\\"
      ? c
      : "\\x" + byte.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/**
 * The modules of a worker-build output directory: its index.js (ES module) and the wasm
 * it imports, under the name index.js imports it by.
 */
export function builtWorkerModules(buildDir = path.join(ROOT, "build")) {
  const main = path.join(buildDir, "index.js");
  if (!fs.existsSync(main)) {
    throw new Error(`${main} does not exist: build the worker first (npm run build)`);
  }
  const source = fs.readFileSync(main, "utf8");
  const imports = [...source.matchAll(/\bfrom\s*["']\.\/([^"']+\.wasm)["']/g)].map((m) => m[1]);
  if (imports.length === 0) throw new Error(`${main} imports no ./*.wasm module`);
  return [
    { name: "index.js", type: "esModule", path: main },
    ...[...new Set(imports)].map((name) => ({
      name,
      type: "wasm",
      path: path.join(buildDir, name),
    })),
  ];
}

/**
 * Starts `workerd serve` on 127.0.0.1 (a free port) with a config written to a temp dir.
 *
 * - `modules`: [{ name, type: "esModule" | "wasm", path }] (see builtWorkerModules);
 * - `bindings`: name → string, as text bindings (vars and secrets alike);
 * - `kv`: true binds CONVERSATIONS to a KV namespace backed by a directory on disk;
 * - `cpu`: pin workerd to this core list with taskset (e.g. "1");
 * - `extraArgs`: more `workerd serve` flags (e.g. `--inspector-addr=127.0.0.1:9229`);
 * - `v8Flags`: V8's own flags (e.g. `--perf-basic-prof`, for bench/perf.sh);
 * - `logLines`: how many of workerd's last output lines `logs()` keeps;
 * - `outputFile`: workerd's stdout and stderr go to a file in its directory rather than through
 *   pipes this process reads (benches: a reader woken for each log line charges workerd's
 *   write with its wake-up, the more the slower the worker; `logs()` reads the file's end).
 *
 * Resolves once workerd listens: { url, port, pid, proc, dir, startedAt, logs(), stop() }.
 * `startedAt` is performance.now() just before the spawn, for cold-start timing.
 */
export async function startWorkerd({
  modules = builtWorkerModules(),
  bindings = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET },
  kv = false,
  objects = false,
  cpu = null,
  extraArgs = [],
  v8Flags = [],
  logLines = 200,
  outputFile = false,
  compatibilityDate = COMPATIBILITY_DATE,
  timeoutMs = 30_000,
} = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sms-workerd-"));
  // capnp `embed` paths are relative to the config file: copy the modules next to it,
  // which also keeps a rebuild during the run from changing what is served.
  const moduleLines = modules.map((m) => {
    const file = path.join(dir, "modules", m.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(m.path, file);
    const kind = m.type === "wasm" ? "wasm" : "esModule";
    return `    (name = ${capnpString(m.name)}, ${kind} = embed ${capnpString("modules/" + m.name)}),`;
  });
  const bindingLines = Object.entries(bindings)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `    (name = ${capnpString(k)}, text = ${capnpString(v)}),`);
  const services = ['    (name = "main", worker = .mainWorker),'];
  if (kv) {
    const kvDir = path.join(dir, "kv");
    fs.mkdirSync(kvDir);
    services.push(`    (name = "kv", disk = (path = ${capnpString(kvDir)}, writable = true)),`);
    bindingLines.push('    (name = "CONVERSATIONS", kvNamespace = "kv"),');
  }
  // The Durable Objects binding, SQLite-backed and kept on disk, as wrangler.toml's
  // commented blocks declare it.
  let objectLines = "";
  if (objects) {
    const doDir = path.join(dir, "objects");
    fs.mkdirSync(doDir);
    services.push(`    (name = "objects-disk", disk = (path = ${capnpString(doDir)}, writable = true)),`);
    bindingLines.push('    (name = "CONVERSATION_OBJECTS", durableObjectNamespace = "ConversationObject"),');
    objectLines = `
  durableObjectNamespaces = [ (className = "ConversationObject", uniqueKey = "sms-conversation-objects", enableSql = true) ],
  durableObjectStorage = (localDisk = "objects-disk"),`;
  }
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
${services.join("\n")}
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],${
    v8Flags.length ? `\n  v8Flags = [ ${v8Flags.map(capnpString).join(", ")} ],` : ""
  }
);

const mainWorker :Workerd.Worker = (
  modules = [
${moduleLines.join("\n")}
  ],
  compatibilityDate = ${capnpString(compatibilityDate)},${objectLines}
  bindings = [
${bindingLines.join("\n")}
  ],
);
`;
  const configPath = path.join(dir, "config.capnp");
  fs.writeFileSync(configPath, config);

  const args = ["serve", configPath, "--control-fd=3", ...extraArgs];
  const [cmd, argv] = cpu == null ? [WORKERD, args] : ["taskset", ["-c", String(cpu), WORKERD, ...args]];
  const startedAt = performance.now();
  // taskset execs workerd, so proc.pid is workerd's pid either way.
  const outputPath = path.join(dir, "output.log");
  const output = outputFile ? fs.openSync(outputPath, "a") : "pipe";
  const proc = spawn(cmd, argv, { stdio: ["ignore", output, output, "pipe"] });
  if (outputFile) fs.closeSync(output);

  const tail = [];
  const lastLines = () =>
    outputFile ? fs.readFileSync(outputPath, "utf8").split("\n").filter(Boolean).slice(-logLines) : tail.slice();
  if (!outputFile) {
    for (const stream of [proc.stdout, proc.stderr]) {
      readline.createInterface({ input: stream }).on("line", (line) => {
        tail.push(line);
        if (tail.length > logLines) tail.shift();
      });
    }
  }
  const exited = once(proc, "exit");

  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("workerd did not listen in time")), timeoutMs);
    readline.createInterface({ input: proc.stdio[3] }).on("line", (line) => {
      try {
        const event = JSON.parse(line);
        if (event.event === "listen" && event.socket === "http") {
          clearTimeout(timer);
          resolve(event.port);
        }
      } catch {
        /* not ours */
      }
    });
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited (${code ?? signal}) before listening:\n${lastLines().join("\n")}`));
    });
    proc.on("error", reject);
  }).catch(async (e) => {
    proc.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  });

  let stopped = null;
  const stop = () =>
    (stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })());

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    proc,
    dir,
    kvDir: kv ? path.join(dir, "kv") : null,
    startedAt,
    logs: lastLines,
    stop,
  };
}

/** An HTTP client with keep-alive and `connections` sockets: undici when available. */
export async function httpClient(origin, connections) {
  try {
    const { Pool } = await import("undici");
    const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    return {
      async post(pathname, headers, body) {
        const res = await pool.request({ path: pathname, method: "POST", headers, body });
        const text = await res.body.text();
        const sc = res.headers["set-cookie"];
        return { status: res.statusCode, text, setCookie: Array.isArray(sc) ? sc[0] : sc ?? null };
      },
      close: () => pool.close(),
    };
  } catch (e) {
    if (e?.code !== "ERR_MODULE_NOT_FOUND") throw e;
    // Node's fetch is undici too, with keep-alive on by default.
    return {
      async post(pathname, headers, body) {
        const res = await fetch(origin + pathname, { method: "POST", headers, body });
        return { status: res.status, text: await res.text(), setCookie: res.headers.get("set-cookie") };
      },
      close: async () => {},
    };
  }
}

export function expectedReply(k) {
  return k === 1 ? "Hello, thanks for the new message." : `Hello, thanks for message number ${k}`;
}

export function percentile(sortedMs, p) {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, i)];
}

/** A pair's From number: distinct for every index, E.164. */
export function pairNumber(i) {
  return "+1415" + String(2_000_000 + i).padStart(7, "0");
}

/**
 * Runs `pairs` conversations of `messages` messages each against `webhookUrl`: pairs
 * concurrently (one connection each), the messages of a pair strictly in sequence.
 * `firstMessage` > 1 continues conversations (with the jars in `jars`, or none).
 * Returns { requests, failures, latenciesMs (sorted), elapsedMs, statuses, jars }.
 */
export async function runConversations({
  webhookUrl,
  pairs,
  messages,
  token = AUTH_TOKEN,
  firstMessage = 1,
  jars = new Map(),
  runId = process.pid.toString(16).padStart(8, "0") + Date.now().toString(16).slice(-8),
  client = null,
}) {
  const url = new URL(webhookUrl);
  const ownClient = client ?? (await httpClient(url.origin, pairs));
  const latencies = [];
  const failures = [];
  const statuses = {};
  let requests = 0;

  async function conversation(i) {
    const from = pairNumber(i);
    for (let k = firstMessage; k < firstMessage + messages; k++) {
      const sid =
        "SM" + runId.slice(0, 16).padStart(16, "0") + i.toString(16).padStart(8, "0") + k.toString(16).padStart(8, "0");
      const params = smsParams({ from, body: `message ${k} of pair ${i}`, sid });
      const headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": sign(webhookUrl, params, token),
      };
      const jar = jars.get(from);
      if (jar) headers.cookie = jar;
      const started = performance.now();
      let res;
      try {
        res = await ownClient.post(url.pathname + url.search, headers, new URLSearchParams(params).toString());
      } catch (e) {
        requests++;
        statuses.error = (statuses.error ?? 0) + 1;
        failures.push({ pair: i, message: k, problem: `request failed: ${e.message}` });
        // The rest of this conversation would only repeat the loss: count it as lost.
        for (let rest = k + 1; rest < firstMessage + messages; rest++) {
          failures.push({ pair: i, message: rest, problem: "not sent (an earlier message of the pair failed)" });
        }
        return;
      }
      latencies.push(performance.now() - started);
      requests++;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const reply = replyText(res.text);
      const want = expectedReply(k);
      if (res.status !== 200) {
        failures.push({ pair: i, message: k, problem: `status ${res.status}: ${res.text.slice(0, 200)}` });
      } else if (reply !== want) {
        failures.push({ pair: i, message: k, problem: `reply ${JSON.stringify(reply)}, want ${JSON.stringify(want)}` });
      } else if (!res.setCookie || !res.setCookie.startsWith("sms_state=")) {
        failures.push({ pair: i, message: k, problem: "no sms_state cookie" });
      }
      if (res.setCookie) {
        const first = res.setCookie.split(";")[0];
        if (/max-age=0(;|$)/i.test(res.setCookie)) jars.delete(from);
        else jars.set(from, first);
      }
    }
  }

  const started = performance.now();
  await Promise.all(Array.from({ length: pairs }, (_, i) => conversation(i)));
  const elapsedMs = performance.now() - started;
  if (!client) await ownClient.close();
  latencies.sort((a, b) => a - b);
  return { requests, failures, latenciesMs: latencies, elapsedMs, statuses, jars };
}

export function summarize(label, r) {
  const rps = r.requests / (r.elapsedMs / 1000);
  return (
    `${label}: ${r.requests} requests in ${(r.elapsedMs / 1000).toFixed(2)} s = ${rps.toFixed(0)} req/s; ` +
    `latency p50 ${percentile(r.latenciesMs, 50).toFixed(2)} ms, p99 ${percentile(r.latenciesMs, 99).toFixed(2)} ms; ` +
    `statuses ${JSON.stringify(r.statuses)}; lost ${r.failures.length}`
  );
}

async function main() {
  const { values } = parseArgs({
    options: {
      pairs: { type: "string", default: "200" },
      messages: { type: "string", default: "20" },
      kv: { type: "boolean", default: false },
      url: { type: "string" },
      token: { type: "string", default: AUTH_TOKEN },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: node scripts/load.mjs [--pairs N] [--messages M] [--kv] [--url URL] [--token T]");
    return 0;
  }
  const pairs = Number(values.pairs);
  const messages = Number(values.messages);
  if (!(Number.isInteger(pairs) && pairs > 0 && Number.isInteger(messages) && messages > 0)) {
    throw new Error("--pairs and --messages must be positive integers");
  }
  if (values.kv && values.url) throw new Error("--kv starts its own workerd; it cannot be used with --url");

  const worker = values.url ? null : await startWorkerd({ kv: values.kv });
  const webhookUrl = values.url ?? `${worker.url}/sms`;
  console.log(
    `load: ${pairs} pairs × ${messages} messages against ${webhookUrl}` +
      (worker ? ` (workerd pid ${worker.pid}${values.kv ? ", KV on disk" : ""})` : ""),
  );
  let lost = 0;
  try {
    const run = await runConversations({ webhookUrl, pairs, messages, token: values.token });
    console.log(summarize("conversations", run));
    lost += report(run);

    if (values.kv) {
      // Each pair's entry is written after its reply (ctx.waitUntil); give the last ones a moment.
      await new Promise((r) => setTimeout(r, 1000));
      const entries = fs.readdirSync(worker.kvDir, { recursive: true }).filter((f) => f.includes("pair"));
      console.log(`kv: ${entries.length} pair entries on disk (want ${pairs})`);
      const recovery = await runConversations({
        webhookUrl,
        pairs,
        messages: 1,
        firstMessage: messages + 1,
        jars: new Map(), // cookies lost: the count must come back from KV
        token: values.token,
      });
      console.log(summarize("kv recovery (no cookies)", recovery));
      lost += report(recovery);
    }
  } finally {
    if (worker) {
      const errors = worker.logs().filter((l) => /panic|uncaught|error/i.test(l) && !/"outcome"/.test(l));
      if (errors.length) console.log(`workerd log lines that look like errors:\n  ${errors.slice(-10).join("\n  ")}`);
      await worker.stop();
    }
  }
  console.log(lost === 0 ? "OK: every count exact, no 5xx, no non-200" : `FAIL: ${lost} replies lost or wrong`);
  return lost === 0 ? 0 : 1;
}

function report(run) {
  for (const f of run.failures.slice(0, 10)) {
    console.log(`  lost: pair ${f.pair} message ${f.message}: ${f.problem}`);
  }
  if (run.failures.length > 10) console.log(`  … and ${run.failures.length - 10} more`);
  return run.failures.length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`load: ${e.stack ?? e}`);
      process.exit(2);
    },
  );
}

