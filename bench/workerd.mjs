// The worker in workerd, against a floor and a plain-JS equivalent, all in bare
// `workerd serve` (scripts/load.mjs starts them):
//   - throughput: autocannon on loopback, steady state (each request a new 10th message of
//     a pair, with the cookie its 9th message left), workerd and autocannon pinned to
//     different cores; requests/s, p50/p99, workerd CPU µs per request;
//   - cold start: spawn → listening, and spawn → first webhook answered;
//   - sizes: wasm and JS glue, raw and gzip.
// Writes JSON to the file named by --out. Flags: --duration 10 --connections 8 --runs 3.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import zlib from "node:zlib";

import {
  builtWorkerModules,
  httpClient,
  pairNumber,
  runConversations,
  startWorkerd,
} from "../scripts/load.mjs";
import { AUTH_TOKEN, ROOT, SESSION_SECRET, replyText, sign, smsParams } from "../tests/helpers/worker.mjs";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "8" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    "cold-starts": { type: "string", default: "5" },
    out: { type: "string", default: path.join(ROOT, "bench/.results/workerd.json") },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const COLD_STARTS = Number(values["cold-starts"]);

// Two cores or more: workerd on core 1, the load generator on core 0.
const PIN = os.availableParallelism() >= 2;
const SERVER_CPU = PIN ? "1" : null;
const CLIENT_CPU = PIN ? "0" : null;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

const secrets = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET };
const WORKERS = [
  {
    id: "floor",
    label: "floor: hello-world workers-rs, constant TwiML",
    modules: builtWorkerModules(path.join(ROOT, "bench/floor/build")),
    bindings: {},
    counts: false,
  },
  {
    id: "js",
    label: "plain JS + WebCrypto (signed cookie, no history)",
    modules: [{ name: "index.mjs", type: "esModule", path: path.join(ROOT, "bench/js-worker/index.mjs") }],
    bindings: secrets,
    counts: true,
  },
  {
    id: "rust-signed",
    label: "Rust worker, HISTORY_TURNS=0 (signed cookie, no history)",
    modules: builtWorkerModules(),
    bindings: { ...secrets, HISTORY_TURNS: "0" },
    counts: true,
  },
  {
    id: "rust",
    label: "Rust worker, defaults (encrypted cookie, 10 turns)",
    modules: builtWorkerModules(),
    bindings: secrets,
    counts: true,
  },
];

function cpuSeconds(pid) {
  // utime + stime of the whole process (all threads), in clock ticks.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Message `n` of pair 0, signed for `webhookUrl`, with `cookie`. */
function signedRequest(webhookUrl, n, cookie) {
  const sid = "SM" + "b".repeat(24) + String(n).padStart(8, "0");
  const params = smsParams({ from: pairNumber(0), body: `message ${n} of a steady conversation`, sid });
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    "x-twilio-signature": sign(webhookUrl, params),
  };
  if (cookie) headers.cookie = cookie;
  return { method: "POST", headers, body: new URLSearchParams(params).toString() };
}

/**
 * The steady-state request: message 10 of a pair, carrying the cookie message 9 left.
 * The first is counted; repeats are retries of message 10 (the isolate remembers the
 * pair's latest state), which do the same parsing, verifying, opening and sealing.
 */
async function steadyRequest(worker, spec) {
  const webhookUrl = `${worker.url}/sms`;
  let cookie = null;
  if (spec.counts) {
    const nine = await runConversations({ webhookUrl, pairs: 1, messages: 9 });
    if (nine.failures.length) throw new Error(`${spec.id}: ${JSON.stringify(nine.failures[0])}`);
    cookie = nine.jars.get(pairNumber(0));
  }
  const req = signedRequest(webhookUrl, 10, cookie);
  const client = await httpClient(worker.url, 1);
  try {
    for (let i = 0; i < 2; i++) {
      const res = await client.post("/sms", req.headers, req.body);
      const reply = replyText(res.text);
      if (res.status !== 200 || reply !== "Hello, thanks for message number 10") {
        throw new Error(`${spec.id}: steady request answered ${res.status} ${JSON.stringify(reply)}`);
      }
    }
  } finally {
    await client.close();
  }
  return { url: webhookUrl, ...req };
}

function cannon(req, duration) {
  const args = [
    path.join(ROOT, "bench/cannon.mjs"),
    JSON.stringify({ ...req, connections: CONNECTIONS, duration }),
  ];
  const [cmd, argv] = CLIENT_CPU == null ? [process.execPath, args] : ["taskset", ["-c", CLIENT_CPU, process.execPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      resolve(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

function otherLoad() {
  // What else was running: other people's builds skew a shared 2-core machine.
  const busy = execFileSync("ps", ["-eo", "pcpu=,comm="]).toString().trim().split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([pcpu, comm]) => Number(pcpu) > 20 && !/^(workerd|node|ps)$/.test(comm))
    .map(([pcpu, comm]) => `${comm} ${pcpu}%`);
  return { loadavg: os.loadavg().map((x) => +x.toFixed(2)), busy };
}

async function throughput() {
  const running = [];
  try {
    for (const spec of WORKERS) {
      const worker = await startWorkerd({ modules: spec.modules, bindings: spec.bindings, cpu: SERVER_CPU });
      running.push({ spec, worker, req: await steadyRequest(worker, spec), runs: [] });
    }
    for (const r of running) {
      process.stderr.write(`[bench] warm-up ${r.spec.id} (${WARMUP} s)\n`);
      await cannon(r.req, WARMUP);
    }
    const load = [otherLoad()];
    // Interleaved, so drift from other work on the machine hits every worker alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const r of running) {
        const before = cpuSeconds(r.worker.pid);
        const res = await cannon(r.req, DURATION);
        const cpu = cpuSeconds(r.worker.pid) - before;
        const row = { ...res, cpuUsPerReq: (cpu * 1e6) / res.requests, cpuSeconds: cpu };
        r.runs.push(row);
        process.stderr.write(
          `[bench] run ${run}/${RUNS} ${r.spec.id}: ${row.rps.toFixed(0)} req/s, ${row.cpuUsPerReq.toFixed(1)} µs CPU/req, ` +
            `p50 ${row.p50.toFixed(3)} ms, p99 ${row.p99.toFixed(3)} ms, non-2xx ${row.non2xx}, errors ${row.errors}\n`,
        );
        if (row.non2xx || row.errors) throw new Error(`${r.spec.id}: ${row.non2xx} non-2xx, ${row.errors} errors`);
      }
      load.push(otherLoad());
    }
    return {
      load,
      workers: running.map(({ spec, runs }) => ({
        id: spec.id,
        label: spec.label,
        runs,
        rps: median(runs.map((x) => x.rps)),
        cpuUsPerReq: median(runs.map((x) => x.cpuUsPerReq)),
        p50: median(runs.map((x) => x.p50)),
        p99: median(runs.map((x) => x.p99)),
      })),
    };
  } finally {
    for (const r of running) await r.worker.stop();
  }
}

async function coldStarts() {
  const out = [];
  for (const spec of WORKERS.filter((w) => w.id !== "rust-signed")) {
    const listen = [];
    const first = [];
    for (let i = 0; i < COLD_STARTS; i++) {
      const worker = await startWorkerd({ modules: spec.modules, bindings: spec.bindings, cpu: SERVER_CPU });
      try {
        listen.push(performance.now() - worker.startedAt);
        const req = signedRequest(`${worker.url}/sms`, 1, null);
        const client = await httpClient(worker.url, 1);
        const res = await client.post("/sms", req.headers, req.body);
        first.push(performance.now() - worker.startedAt);
        await client.close();
        if (res.status !== 200 || !res.text.includes("<Response>")) throw new Error(`${spec.id}: first webhook ${res.status}`);
      } finally {
        await worker.stop();
      }
    }
    out.push({ id: spec.id, label: spec.label, listenMs: median(listen), firstWebhookMs: median(first), samples: first });
    process.stderr.write(`[bench] cold start ${spec.id}: listening ${median(listen).toFixed(0)} ms, first webhook ${median(first).toFixed(0)} ms\n`);
  }
  return out;
}

function sizes() {
  const size = (file) => {
    const raw = fs.readFileSync(file);
    return { bytes: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
  };
  return WORKERS.filter((w) => w.id !== "rust-signed").map((spec) => ({
    id: spec.id,
    label: spec.label,
    wasm: spec.modules.filter((m) => m.type === "wasm").map((m) => size(m.path))[0] ?? null,
    js: size(spec.modules.find((m) => m.type === "esModule").path),
  }));
}

const result = {
  machine: {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    pinned: PIN ? { workerd: SERVER_CPU, autocannon: CLIENT_CPU } : null,
    workerd: execFileSync(path.join(ROOT, "node_modules/.bin/workerd"), ["--version"]).toString().trim(),
    node: process.version,
  },
  settings: { duration: DURATION, connections: CONNECTIONS, runs: RUNS, warmup: WARMUP, coldStarts: COLD_STARTS },
  sizes: sizes(),
  throughput: await throughput(),
  coldStart: await coldStarts(),
};
fs.mkdirSync(path.dirname(values.out), { recursive: true });
fs.writeFileSync(values.out, JSON.stringify(result, null, 2));
process.stderr.write(`[bench] wrote ${values.out}\n`);
