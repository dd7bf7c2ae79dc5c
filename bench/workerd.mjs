// The worker in workerd, against floors and a plain-JS equivalent, all in bare
// `workerd serve` (scripts/load.mjs starts them):
//   - throughput: wrk (or autocannon when wrk is missing) on loopback, steady state (each
//     request a new 10th message of a pair, with the cookie its 9th message left), workerd
//     and the load generator pinned to different cores; requests/s, p50/p99, workerd CPU µs
//     per request; beside them, the counter's and a Studio flow's counted steps (each
//     request message 2 of one of 512 pairs in turn: see stepRequests);
//   - cold start: spawn → listening, and spawn → first webhook answered;
//   - sizes: wasm and JS glue, raw and gzip.
// Writes JSON to the file named by --out. Flags: --duration 8 --connections 32 --runs 3
// --warmup 2 --only id,id (a subset of the workers, for quick comparisons).
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
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "32" },
    runs: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    "cold-starts": { type: "string", default: "7" },
    out: { type: "string", default: path.join(ROOT, "bench/.results/workerd.json") },
    only: { type: "string", default: "" },
    variant: { type: "string", multiple: true, default: [] },
    floor: { type: "string", multiple: true, default: [] },
    label: { type: "string", multiple: true, default: [] },
    load: { type: "string", default: "" },
    // bench/perf.mjs: each worker's workerd sampled by `perf record` during every run, its
    // JIT code (JS and wasm) named through V8's perf map, the wasm swapped for a copy that
    // keeps its function names (--perf-wasm: that copy, for the modules of build/).
    perf: { type: "string", default: "" },
    "perf-wasm": { type: "string", default: "" },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const COLD_STARTS = Number(values["cold-starts"]);
const ONLY = values.only ? values.only.split(",") : null;
// wrk when installed (bench/run.sh installs it), else autocannon.
const hasWrk = (() => {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (e) {
    return e.status != null; // wrk --version exits 1 after printing
  }
})();
const LOAD = values.load || (hasWrk ? "wrk" : "autocannon");

// Two cores or more: workerd on core 1, the load generator on core 0.
const PIN = os.availableParallelism() >= 2;
const SERVER_CPU = PIN ? "1" : null;
// (the load generator's core)
const CLIENT_CPU = PIN ? "0" : null;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

// A floor built by bench/run.sh; null when it is not built (a run that leaves it out with
// --only needs no build of it).
const builtFloor = (dir) => (fs.existsSync(path.join(dir, "index.js")) ? builtWorkerModules(dir) : null);
const secrets = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET };
// `ioOf`: a floor that checks nothing is sent the very request (headers, cookie, body) of
// that worker, so every row reads the same bytes.
const ALL_WORKERS = [
  {
    id: "js-io-floor",
    label: "JS I/O floor: plain JS, the job's I/O, no work",
    modules: [{ name: "index.mjs", type: "esModule", path: path.join(ROOT, "bench/js-io-floor/index.mjs") }],
    bindings: {},
    counts: false,
    ioOf: "rust-signed",
  },
  {
    id: "floor",
    label: "hello-world workers-rs, constant TwiML",
    modules: builtFloor(path.join(ROOT, "bench/floor/build")),
    bindings: {},
    counts: false,
    ioOf: "rust-signed",
  },
  {
    id: "rs-io-floor",
    label: "workers-rs I/O floor: the job's I/O through #[event(fetch)], no work",
    modules: builtFloor(path.join(ROOT, "bench/rs-io-floor/build")),
    bindings: {},
    counts: false,
    ioOf: "rust-signed",
  },
  {
    id: "js",
    label: "plain JS + WebCrypto (signed cookie, no history)",
    modules: [{ name: "index.mjs", type: "esModule", path: path.join(ROOT, "bench/js-worker/index.mjs") }],
    bindings: secrets,
    counts: true,
  },
  // The same job in Rust with none of the framework: what a Rust worker of this shape
  // (a JS entry, one call into wasm each way) costs at least.
  {
    id: "rs-job",
    label: "Rust job, no framework: the JS + WebCrypto worker's job in wasm (bench/rs-job)",
    modules: builtFloor(path.join(ROOT, "bench/rs-job/build")),
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
  // A counted step beside a Studio step (not retries: see stepRequests), for the target
  // "a Studio step's CPU ≤ 2 × the counter's". Same modules as `rust`: no size, and only the
  // Studio worker's cold start (its flows are read and checked when the isolate starts).
  {
    id: "counter-step",
    label: "Rust worker, defaults, the counter: one counted step (message 2 of a pair)",
    modules: builtWorkerModules(),
    bindings: secrets,
    counts: true,
    step: { answered: (twiml) => replyText(twiml) === "Hello, thanks for message number 2" },
    sized: false,
    cold: false,
  },
  {
    id: "studio-step",
    label: "Rust worker, defaults, Studio flows/appointments.json: one answered Send & Wait step (message 2 of a pair)",
    modules: builtWorkerModules(),
    bindings: { ...secrets, CONVERSATION: "studio", STUDIO_FLOW: "appointments" },
    counts: true,
    // "ask" waits; a reply that is neither YES nor NO runs answer → count_try → too_many →
    // retry (a send-message) → ask again, which waits.
    step: { answered: (twiml) => /is not YES or NO\./.test(twiml) && /Reply YES to confirm/.test(twiml) },
    sized: false,
  },
];
// --variant name=<build dir>[?VAR=value&…]: another build of the worker (a prototype), in
// both configurations, with extra vars.
for (const v of values.variant) {
  const [name, spec] = v.split(/=(.*)/s);
  const [dir, query = ""] = spec.split("?");
  const extra = Object.fromEntries(new URLSearchParams(query));
  const modules = builtWorkerModules(path.resolve(dir));
  // --label name=<text>: how the table names it.
  const label = values.label.map((l) => l.split(/=(.*)/s)).find(([n]) => n === name)?.[1] ?? name;
  ALL_WORKERS.push(
    { id: `${name}-signed`, label: `${label}, HISTORY_TURNS=0`, modules, bindings: { ...secrets, ...extra, HISTORY_TURNS: "0" }, counts: true },
    { id: name, label: `${label}, defaults`, modules, bindings: { ...secrets, ...extra }, counts: true },
  );
}
// --floor name=<build dir>: another floor (checks nothing, sent the signed worker's request).
for (const v of values.floor) {
  const [name, dir] = v.split("=");
  const modules = /\.m?js$/.test(dir)
    ? [{ name: "index.mjs", type: "esModule", path: path.resolve(dir) }]
    : builtWorkerModules(path.resolve(dir));
  ALL_WORKERS.push({ id: name, label: name, modules, bindings: { ...secrets, HISTORY_TURNS: "0" }, counts: false, ioOf: "rust-signed" });
}
const WORKERS = ALL_WORKERS.filter((w) => !ONLY || ONLY.includes(w.id));
const PERF = values.perf ? path.resolve(values.perf) : null;
if (PERF && values["perf-wasm"]) {
  const shipped = path.join(ROOT, "build/index_bg.wasm");
  for (const w of WORKERS) {
    w.modules = w.modules?.map((m) => (m.path === shipped ? { ...m, path: path.resolve(values["perf-wasm"]) } : m));
  }
}
/** startWorkerd's options for `spec`: with V8's perf map when sampling. */
const serve = (spec) => ({
  modules: spec.modules,
  bindings: spec.bindings,
  cpu: SERVER_CPU,
  // Its log lines to a file, not through a pipe this process reads: each line written to a
  // pipe wakes the reader, and the wake-up is charged to workerd's write, more per request the
  // slower the worker (the reader sleeps between lines): 10 µs a webhook on the JS I/O floor,
  // 22 on the Rust job, 29 on this worker, signed (medians of one run, bench/HISTORY.md).
  outputFile: true,
  // V8's perf map (/tmp/perf-<pid>.map), and no code log in the working directory.
  v8Flags: PERF ? ["--perf-basic-prof", "--no-logfile-per-isolate", "--logfile=/dev/null"] : [],
});

/** `perf record` on `pid` until the returned function is called (on the load's core). */
function perfRecord(pid, file) {
  const args = ["record", "-q", "-e", "cpu-clock", "-F", "4999", ...(process.env.BENCH_PERF_CALLGRAPH ? ["-g"] : []), "-p", String(pid), "-o", file];
  const [cmd, argv] = CLIENT_CPU == null ? ["perf", args] : ["taskset", ["-c", CLIENT_CPU, "perf", ...args]];
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "inherit"] });
  return () =>
    new Promise((resolve) => {
      child.on("exit", resolve);
      child.kill("SIGINT");
    });
}
for (const w of WORKERS) if (!w.modules) throw new Error(`${w.id} is not built (bench/run.sh builds it)`);

/** The fields of /proc/<pid>/stat after the command's name (state first). */
function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Minor page faults of the whole process, and its threads' context switches. */
function faultsAndSwitches(pid) {
  const minflt = Number(statFields(pid)[7]);
  let switches = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const status = fs.readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) switches += Number(m[1]);
  }
  return [minflt, switches];
}

function cpuSeconds(pid) {
  return cpuTimes(pid).reduce((a, b) => a + b);
}

/** [utime, stime] of the whole process (all threads), in seconds. */
function cpuTimes(pid) {
  const fields = statFields(pid);
  return [Number(fields[11]) / CLK_TCK, Number(fields[12]) / CLK_TCK];
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
 * `template`: send these headers and this body instead (the floors, which check nothing).
 */
async function steadyRequest(worker, spec, template = null) {
  const webhookUrl = `${worker.url}/sms`;
  let req = template && { method: template.method, headers: template.headers, body: template.body };
  if (!req) {
    let cookie = null;
    if (spec.counts) {
      const nine = await runConversations({ webhookUrl, pairs: 1, messages: 9 });
      if (nine.failures.length) throw new Error(`${spec.id}: ${JSON.stringify(nine.failures[0])}`);
      cookie = nine.jars.get(pairNumber(0));
    }
    req = signedRequest(webhookUrl, 10, cookie);
  }
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

// How many pairs a step worker's load goes round: more than an isolate remembers
// (src/storage/memory.rs, CAPACITY = 256), so a pair's memory is gone when its turn comes
// again and every request is a counted step from the cookie, never a retry.
const STEP_PAIRS = 512;

/**
 * A step worker's requests: message 2 of each of STEP_PAIRS pairs, with the cookie its
 * message 1 left, sent in turn. Unlike `steadyRequest`'s repeats (retries, answered from the
 * kept turn), each one runs the conversation: for Studio, a reply to the waiting widget.
 */
async function stepRequests(worker, spec) {
  const webhookUrl = `${worker.url}/sms`;
  const client = await httpClient(worker.url, 8);
  const message = (i, n, cookie) => {
    const sid = "SM" + "c".repeat(16) + i.toString(16).padStart(8, "0") + String(n).padStart(8, "0");
    const params = smsParams({ from: pairNumber(i), body: `message ${n} of a steady conversation`, sid });
    const headers = { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sign(webhookUrl, params) };
    if (cookie) headers.cookie = cookie;
    return { method: "POST", headers, body: new URLSearchParams(params).toString() };
  };
  const requests = [];
  try {
    for (let from = 0; from < STEP_PAIRS; from += 8) {
      const batch = Array.from({ length: 8 }, async (_, k) => {
        const first = message(from + k, 1, null);
        const res = await client.post("/sms", first.headers, first.body);
        if (res.status !== 200 || !res.setCookie) throw new Error(`${spec.id}: message 1 answered ${res.status}`);
        requests[from + k] = message(from + k, 2, res.setCookie.split(";")[0]);
      });
      await Promise.all(batch);
    }
    // The first pair's step, checked (its memory is gone by the time the load comes round).
    const res = await client.post("/sms", requests[0].headers, requests[0].body);
    if (res.status !== 200 || !spec.step.answered(res.text)) {
      throw new Error(`${spec.id}: step answered ${res.status} ${JSON.stringify(res.text.slice(0, 300))}`);
    }
  } finally {
    await client.close();
  }
  // Many requests do not fit one argument: bench/wrk.mjs and bench/cannon.mjs read a file.
  const requestsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sms-steps-")), "requests.json");
  fs.writeFileSync(requestsFile, JSON.stringify(requests));
  return { url: webhookUrl, requestsFile };
}

/** The steady request of worker `id`, from a workerd started for the purpose. */
async function requestOf(id) {
  const spec = ALL_WORKERS.find((w) => w.id === id);
  const worker = await startWorkerd({ modules: spec.modules, bindings: spec.bindings, cpu: SERVER_CPU });
  try {
    return await steadyRequest(worker, spec);
  } finally {
    await worker.stop();
  }
}

/** One load run of `duration` seconds against `req`, from the client core. */
function loadRun(req, duration) {
  const tool = LOAD === "wrk" ? "bench/wrk.mjs" : "bench/cannon.mjs";
  const args = [
    path.join(ROOT, tool),
    JSON.stringify({ ...req, connections: CONNECTIONS, duration, cpu: CLIENT_CPU }),
  ];
  // wrk.mjs pins wrk itself; autocannon runs inside the Node process, pinned here.
  const [cmd, argv] =
    CLIENT_CPU == null || LOAD === "wrk"
      ? [process.execPath, args]
      : ["taskset", ["-c", CLIENT_CPU, process.execPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${LOAD} exited ${code}`));
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
    // Workers that check their requests first: the floors are sent what those were.
    const requests = new Map();
    for (const spec of [...WORKERS].sort((a, b) => Number(!!a.ioOf) - Number(!!b.ioOf))) {
      const worker = await startWorkerd(serve(spec));
      let template = null;
      if (spec.ioOf) {
        if (!requests.has(spec.ioOf)) requests.set(spec.ioOf, await requestOf(spec.ioOf));
        template = requests.get(spec.ioOf);
      }
      const req = spec.step ? await stepRequests(worker, spec) : await steadyRequest(worker, spec, template);
      requests.set(spec.id, req);
      running.push({ spec, worker, req, runs: [] });
    }
    // Back in table order.
    running.sort((a, b) => WORKERS.indexOf(a.spec) - WORKERS.indexOf(b.spec));
    for (const r of running) {
      process.stderr.write(`[bench] warm-up ${r.spec.id} (${WARMUP} s)\n`);
      await loadRun(r.req, WARMUP);
    }
    const load = [otherLoad()];
    // Interleaved, so drift from other work on the machine hits every worker alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const r of running) {
        const data = PERF && path.join(PERF, `${r.spec.id}.${run}.data`);
        const stop = PERF ? perfRecord(r.worker.pid, data) : null;
        const [user, sys] = cpuTimes(r.worker.pid);
        const [faults, switches] = faultsAndSwitches(r.worker.pid);
        const res = await loadRun(r.req, DURATION);
        const [user2, sys2] = cpuTimes(r.worker.pid);
        const [faults2, switches2] = faultsAndSwitches(r.worker.pid);
        await stop?.();
        const cpu = user2 - user + (sys2 - sys);
        const row = {
          ...res,
          cpuUsPerReq: (cpu * 1e6) / res.requests,
          sysUsPerReq: ((sys2 - sys) * 1e6) / res.requests,
          faultsPerReq: (faults2 - faults) / res.requests,
          switchesPerReq: (switches2 - switches) / res.requests,
          cpuSeconds: cpu,
        };
        if (PERF) Object.assign(row, { perfData: data, pid: r.worker.pid });
        r.runs.push(row);
        process.stderr.write(
          `[bench] run ${run}/${RUNS} ${r.spec.id}: ${row.rps.toFixed(0)} req/s, ${row.cpuUsPerReq.toFixed(1)} µs CPU/req, ${row.faultsPerReq.toFixed(3)} faults/req, ${row.switchesPerReq.toFixed(3)} switches/req, ` +
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
  // One per build: the HISTORY_TURNS=0 configuration starts the same modules. Interleaved,
  // like the throughput runs.
  const specs = WORKERS.filter((w) => !w.id.endsWith("-signed") && w.cold !== false);
  const samples = new Map(specs.map((spec) => [spec, { listen: [], first: [] }]));
  for (let i = 0; i < COLD_STARTS; i++) {
    for (const spec of specs) {
      const worker = await startWorkerd({ modules: spec.modules, bindings: spec.bindings, cpu: SERVER_CPU });
      try {
        samples.get(spec).listen.push(performance.now() - worker.startedAt);
        const req = signedRequest(`${worker.url}/sms`, 1, null);
        const client = await httpClient(worker.url, 1);
        const res = await client.post("/sms", req.headers, req.body);
        samples.get(spec).first.push(performance.now() - worker.startedAt);
        await client.close();
        if (res.status !== 200 || !res.text.includes("<Response>")) throw new Error(`${spec.id}: first webhook ${res.status}`);
      } finally {
        await worker.stop();
      }
    }
  }
  const results = [];
  for (const spec of specs) {
    const { listen, first } = samples.get(spec);
    const compiled = spec.modules.some((m) => m.type === "wasm") ? await firstCompile(spec) : null;
    process.stderr.write(`[bench] cold start ${spec.id}: listening ${median(listen).toFixed(0)} ms, first webhook ${median(first).toFixed(0)} ms\n`);
    results.push({ id: spec.id, label: spec.label, listenMs: median(listen), firstWebhookMs: median(first), samples: first, compiled });
  }
  return results;
}

/**
 * What V8 compiles from a fresh isolate's start to its first webhook's answer: wasm is compiled
 * lazily, each function (Liftoff) the first time it is called, on the calling thread. One more
 * start, with V8's `--trace-wasm-compilation-times` (a line per function, in workerd's output).
 */
async function firstCompile(spec) {
  const worker = await startWorkerd({ ...serve(spec), v8Flags: ["--trace-wasm-compilation-times"], logLines: 1e6 });
  try {
    const req = signedRequest(`${worker.url}/sms`, 1, null);
    const client = await httpClient(worker.url, 1);
    await client.post("/sms", req.headers, req.body);
    await client.close();
    // workerd's output comes through a pipe: give its last lines time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    let functions = 0, us = 0, bodyBytes = 0;
    for (const line of worker.logs()) {
      const m = /^Compiled function .* took (\d+) μs .* bodysize (\d+)/.exec(line);
      if (m) [functions, us, bodyBytes] = [functions + 1, us + Number(m[1]), bodyBytes + Number(m[2])];
    }
    return { functions, ms: us / 1000, bodyBytes };
  } finally {
    await worker.stop();
  }
}

function sizes() {
  const size = (file) => {
    const raw = fs.readFileSync(file);
    return { bytes: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
  };
  return WORKERS.filter((w) => !w.id.endsWith("-signed") && w.sized !== false).map((spec) => ({
    id: spec.id,
    label: spec.label,
    wasm: spec.modules.filter((m) => m.type === "wasm").map((m) => ({ ...size(m.path), path: m.path }))[0] ?? null,
    js: size(spec.modules.find((m) => m.type === "esModule").path),
  }));
}

const result = {
  machine: {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    pinned: PIN ? { workerd: SERVER_CPU, load: CLIENT_CPU } : null,
    load: LOAD,
    workerd: execFileSync(path.join(ROOT, "node_modules/.bin/workerd"), ["--version"]).toString().trim(),
    node: process.version,
  },
  settings: { duration: DURATION, connections: CONNECTIONS, runs: RUNS, warmup: WARMUP, coldStarts: COLD_STARTS, load: LOAD },
  sizes: sizes(),
  throughput: await throughput(),
  coldStart: COLD_STARTS > 0 ? await coldStarts() : [],
};
fs.mkdirSync(path.dirname(values.out), { recursive: true });
fs.writeFileSync(values.out, JSON.stringify(result, null, 2));
process.stderr.write(`[bench] wrote ${values.out}\n`);
