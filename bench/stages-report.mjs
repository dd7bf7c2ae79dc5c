// The attribution table from bench/stages.sh's run (bench/workerd.mjs's JSON): each stage's
// CPU per webhook in workerd, as the difference between the bench build told to run the stage
// BENCH_REPEAT times more per request and the same build told to run nothing more
// (`prepare`), divided by BENCH_REPEAT; the bench build cut short at each point of the path,
// once per request (in place); and what the module's size costs (the shipped worker against
// the same worker without the `studio` feature, the `objects` feature, or either).
//   node bench/stages-report.mjs bench/.results/stages.json [native.json]
// Prints markdown.
import { execFileSync } from "node:child_process";
import fs from "node:fs";

const [file, nativeFile] = process.argv.slice(2);
const run = JSON.parse(fs.readFileSync(file, "utf8"));
const native = nativeFile && fs.existsSync(nativeFile) ? JSON.parse(fs.readFileSync(nativeFile, "utf8")) : [];
const rows = new Map(run.throughput.workers.map((w) => [w.id, w]));
const cpu = (id) => rows.get(id)?.cpuUsPerReq;
const repeat = (id) => Number(/×(\d+)/.exec(rows.get(id)?.label ?? "")?.[1] ?? 0);
const stage = (name) => {
  const id = `stage-${name}-signed`;
  const n = repeat(id);
  return n ? (cpu(id) - cpu("stage-prepare-signed")) / n : NaN;
};

const floor = cpu("js-io-floor");
const shipped = cpu("rust-signed");
const above = shipped - floor;
// Natively each measured run is the stage NATIVE_REPEAT times over the fixture it starts from
// (`prepare`, once), which is taken off (benches/webhook.rs, `stages(10th,signed)`).
const NATIVE_REPEAT = 10;
const nativeRun = (name) => native.find((r) => r.group === "stages(10th,signed)" && r.fn === name)?.median_ns;
const nativeUs = (name) => (nativeRun(name) - nativeRun("prepare")) / NATIVE_REPEAT / 1000;
const names = ["read", "parse", "signature", "message", "open", "respond", "segments", "seal", "twiml", "log", "json", "out", "handle"];
/** The table's rows, from one stage's cost (µs); `entry`: the JS entry and its crossing. */
function rowsOf(cost, entry) {
  const s = Object.fromEntries(names.map((n) => [n, cost(n)]));
  return [
    ["the JS entry and the crossing into wasm and back, the request's fields with it (a canned answer)", entry],
    ["the request's fields taken apart in wasm (`Read::new`: the head's UTF-8 check, its split)", s.read],
    ["form parsing (`parse_params`)", s.parse],
    ["the signature (HMAC-SHA1 over the sorted parameters)", s.signature],
    ["the typed message (`InboundMessage::from_params`)", s.message],
    ["opening the cookie (base64, MAC, postcard)", s.open],
    ["the record and the reply (load → converse → save → render, less the stages below)", s.respond - s.open - s.seal - s.segments - s.twiml],
    ["segments (GSM-7 / UCS-2 count of the reply)", s.segments],
    ["sealing (postcard, MAC, base64, Set-Cookie)", s.seal],
    ["TwiML", s.twiml],
    ["the log line", s.log],
    ["the answer string", s.json],
    ["the answer handed back to JavaScript (a string across)", s.out],
    ["the rest of the core (routing, intent, the objects' check), from `handle`", s.handle - s.respond - s.parse - s.signature - s.message],
  ];
}
const s = Object.fromEntries(names.map((n) => [n, stage(n)]));
const table = rowsOf(stage, cpu("stage-canned-signed") - floor);
const nativeTable = rowsOf(nativeUs, NaN);
const attributed = table.reduce((a, [, us]) => a + us, 0);
const nativeAttributed = nativeTable.reduce((a, [, us]) => a + (Number.isFinite(us) ? us : 0), 0);
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const out = [];
out.push(
  `Signed path (HISTORY_TURNS=0), the steady request of section 2 (a retry of message 10), this repository's worker. ` +
    `JS I/O floor ${f(floor)} µs, the shipped worker ${f(shipped)} µs (${f(shipped / floor, 2)} × the floor): ${f(above)} µs above the floor. ` +
    `A stage's cost = (CPU per request with the stage run n times more − with nothing more) / n, in one interleaved run; ` +
    `a stage run again and again runs with warm caches, so the sum falls short of what the whole costs in place (the last row).`,
  "",
  "| stage | workerd µs/webhook | share of the CPU above the floor | native µs (criterion) |",
  "|:--|--:|--:|--:|",
);
table.forEach(([label, us], i) => {
  out.push(`| ${label} | ${f(us)} | ${f((100 * us) / above, 0)} % | ${f(nativeTable[i][1], 2)} |`);
});
out.push(`| **attributed** | ${f(attributed)} | ${f((100 * attributed) / above, 0)} % | ${native.length ? f(nativeAttributed, 2) : "–"} |`);
out.push(`| not attributed (the whole in place − the stages looped: cold caches, the async machinery, the allocator) | ${f(above - attributed)} | ${f((100 * (above - attributed)) / above, 0)} % | |`);
out.push(
  "",
  `For reference: the whole core (\`app::handle\`) looped costs ${f(s.handle)} µs per run; the pipeline (\`respond\`) ${f(s.respond)} µs. ` +
    `The bench build answering with nothing more (\`prepare\`: the fixture of parsed form, message and opened record made once per request) costs ${f(cpu("stage-prepare-signed"))} µs against the shipped build's ${f(shipped)} µs.`,
);

// What the module's size costs: the same worker with and without the `studio` feature.
const size = (id) => run.sizes.find((x) => x.id === id);
const cold = (id) => run.coldStart.find((x) => x.id === id);
/**
 * V8's first compile of `wasm` (`new WebAssembly.Module`, lazy: decoding and the module's
 * checks, each function compiled when first called), in a fresh Node process each time (V8
 * keeps a module it compiled before); median of 5, ms.
 */
function compileMs(wasm) {
  if (!wasm?.path || !fs.existsSync(wasm.path)) return NaN;
  const script = `const b=require("fs").readFileSync(process.argv[1]);const t=performance.now();new WebAssembly.Module(b);console.log(performance.now()-t)`;
  const times = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ["-e", script, wasm.path]).toString()));
  return times.sort((a, b) => a - b)[2];
}
out.push(
  "",
  "| worker | wasm bytes | wasm gzip | V8's first compile of the module, ms | CPU µs/webhook signed | CPU µs/webhook defaults | cold start to the first webhook ms |",
  "|:--|--:|--:|--:|--:|--:|--:|",
);
for (const [id, label] of [
  ["js-io-floor", "JS I/O floor"],
  ["rust", "this repository's worker (default features: Studio and the objects on)"],
  ["no-studio", "the same without the `studio` feature"],
  ["no-objects", "the same without the `objects` feature (KV stays)"],
  ["neither", "the same without `studio` and `objects`"],
]) {
  if (!rows.has(id)) continue;
  const w = size(id)?.wasm;
  out.push(
    `| ${label} | ${w ? w.bytes : "–"} | ${w ? `${f(w.gzip / 1024)} KiB` : "–"} | ${f(compileMs(w), 1)} | ${f(cpu(`${id}-signed`) ?? (id === "rust" ? shipped : cpu(id)))} | ${id === "js-io-floor" ? "–" : f(cpu(id))} | ${f(cold(id)?.firstWebhookMs, 0)} |`,
  );
}
// In place: the bench build cut short at each point of the path (a kept answer), once per
// request, against the floor and the shipped build: no stage repeated, so caches as they are.
// All four cuts are the same bench build, so its hooks (a string compare per cut) are in each.
const inPlace = [
  ["the JS entry and the crossing (`canned`)", "js-io-floor", "stage-canned-signed"],
  ["the isolate's setup and the bindings looked up (`early`)", "stage-canned-signed", "stage-early-signed"],
  ["the core, `app::handle` (`handled`)", "stage-early-signed", "stage-handled-signed"],
  ["the log line, the answer string, handing it back (`full`)", "stage-handled-signed", "stage-full-signed"],
];
if (cpu("stage-full-signed") !== undefined) {
  out.push(
    "",
    "In place, once per request (each row: the bench build answering at that point less the one before it; the rows add up to the bench build answering in full, against the JS I/O floor):",
    "",
    "| part | workerd µs/webhook | share |",
    "|:--|--:|--:|",
  );
  const whole = cpu("stage-full-signed") - floor;
  for (const [label, before, after] of inPlace) {
    const us = cpu(after) - cpu(before);
    out.push(`| ${label} | ${f(us)} | ${f((100 * us) / whole, 0)} % |`);
  }
  out.push(`| **the bench build in full, above the floor** | ${f(whole)} | 100 % |`);
  out.push(
    "",
    `The bench build answering in full costs ${f(cpu("stage-full-signed"))} µs, the shipped build ${f(shipped)} µs: ` +
      `${f(cpu("stage-full-signed") - shipped)} µs apart (the hooks, and the noise between two workerd processes).`,
  );
}
const load = run.throughput.load;
out.push("", `Load on the machine (loadavg) before the runs: ${load[0].loadavg.join(" ")}; after: ${load.at(-1).loadavg.join(" ")}.`);
console.log(out.join("\n"));
