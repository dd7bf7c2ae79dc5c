// Where the whole of workerd's CPU goes per request, worker by worker: the `perf record`
// samples bench/workerd.mjs --perf took (cpu-clock, the whole process: workerd's C++, V8's
// runtime and builtins, the JIT's JavaScript and wasm by name through V8's perf map, the
// kernel), each symbol's share times the run's measured CPU per request. Against the first
// worker named (the JS I/O floor), what each category and symbol costs more.
//   node bench/perf-report.mjs <workerd.json> [top symbols, 30]
import { execFileSync } from "node:child_process";
import fs from "node:fs";

const [file, topArg = "30"] = process.argv.slice(2);
const TOP = Number(topArg);
const result = JSON.parse(fs.readFileSync(file, "utf8"));

/** A sample's category, from its DSO and symbol. */
function category(dso, sym) {
  if (dso.startsWith("[kernel")) return "kernel (network, syscalls, interrupts)";
  if (dso.startsWith("[JIT]") || dso.startsWith("perf-")) {
    if (/^JS:.*-(turbofan|liftoff)$/.test(sym) && !/\.m?js:\d/.test(sym)) return "wasm (JIT code, by function)";
    if (/^(JS|Function|LazyCompile):/.test(sym)) return "JavaScript (the entry, the glue)";
    return "V8 builtins and stubs (JIT'd)";
  }
  if (dso === "workerd") {
    if (/^Builtins_/.test(sym)) return "V8 builtins";
    if (/^v8::internal::(Heap|Scavenger|MarkCompact|MinorMarkSweep|Sweeper|ConcurrentMarking|Marking|GlobalHandles|TracedHandles|Heap::)|Scavenge|GCTracer|CppHeap|cppgc::/.test(sym)) return "V8 GC and handles";
    if (/^v8::|^v8_/.test(sym)) return "V8 runtime (C++)";
    if (/tcmalloc|TCMalloc/i.test(sym)) return "malloc (tcmalloc)";
    if (/^(workerd|jsg)::/.test(sym)) return "workerd (request, Response, jsg)";
    if (/^(kj|capnp)::/.test(sym)) return "kj/capnp (HTTP, event loop)";
    return "workerd, other";
  }
  if (/libc|libm|ld-linux/.test(dso)) return "libc (memcpy, …)";
  return `other (${dso})`;
}

/** Symbol shares (0–1) of one perf data file. */
function shares(data) {
  const out = execFileSync("perf", ["report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso,sym"], {
    maxBuffer: 256 << 20,
    stdio: ["ignore", "pipe", "ignore"],
  }).toString();
  const rows = [];
  for (const line of out.split("\n")) {
    const m = line.match(/^\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)$/);
    if (m) rows.push({ share: Number(m[1]) / 100, dso: m[2], sym: m[3].trim() });
  }
  return rows;
}

/** A symbol's name across workers: JIT'd JS without its script position, wasm without hashes. */
const key = (sym) =>
  sym
    .replace(/ [^ ]*\.m?js:\d+:\d+$/, "")
    .replace(/::h[0-9a-f]{16}/g, "")
    .replace(/-\d+-(turbofan|liftoff)$/, "");

const workers = result.throughput.workers.map((w) => {
  const byCat = new Map();
  const bySym = new Map();
  const n = w.runs.filter((r) => r.perfData).length;
  for (const run of w.runs.filter((r) => r.perfData)) {
    for (const { share, dso, sym } of shares(run.perfData)) {
      const us = (share * run.cpuUsPerReq) / n;
      const cat = category(dso, sym);
      byCat.set(cat, (byCat.get(cat) ?? 0) + us);
      const k = `${key(sym)}`;
      const prev = bySym.get(k) ?? { us: 0, cat };
      prev.us += us;
      bySym.set(k, prev);
    }
  }
  return { id: w.id, cpu: w.cpuUsPerReq, byCat, bySym };
});
if (!workers.length || !workers[0].byCat.size) throw new Error(`${file}: no perf samples (bench/workerd.mjs --perf DIR)`);

const base = workers[0];
const settings = result.settings;
console.log(
  `Whole-process CPU of workerd per webhook (bench/perf.sh): \`perf record -e cpu-clock -F 4999\` on workerd through every run ` +
    `(${settings.runs} interleaved round${settings.runs === 1 ? "" : "s"} of ${settings.duration} s, wrk ${settings.connections} connections, the steady request of section 2), ` +
    `its JIT code named through V8's perf map and the wasm through its name section. A symbol's µs = its share of the samples × the run's ` +
    `CPU per request (utime + stime, with perf attached: its own interrupts are in the kernel row, so compare rows, not absolutes). ` +
    `The columns after the workers are what each costs more than ${base.id}.`,
);
console.log();
const cats = [...new Set(workers.flatMap((w) => [...w.byCat.keys()]))].sort(
  (a, b) => (workers.at(-1).byCat.get(b) ?? 0) - (workers.at(-1).byCat.get(a) ?? 0),
);
const f = (x) => (x ?? 0).toFixed(1);
console.log(`| category, µs/request | ${workers.map((w) => `${w.id}`).join(" | ")} | ${workers.slice(1).map((w) => `${w.id} − ${base.id}`).join(" | ")} |`);
console.log(`|:--|${workers.map(() => "--:").join("|")}|${workers.slice(1).map(() => "--:").join("|")}|`);
for (const c of cats) {
  const row = workers.map((w) => f(w.byCat.get(c)));
  const delta = workers.slice(1).map((w) => f((w.byCat.get(c) ?? 0) - (base.byCat.get(c) ?? 0)));
  console.log(`| ${c} | ${row.join(" | ")} | ${delta.join(" | ")} |`);
}
console.log(`| **CPU per request (measured)** | ${workers.map((w) => f(w.cpu)).join(" | ")} | ${workers.slice(1).map((w) => f(w.cpu - base.cpu)).join(" | ")} |`);

for (const w of workers.slice(1)) {
  console.log();
  console.log(`Top symbols of ${w.id} against ${base.id} (µs/request more):`);
  console.log();
  console.log("| symbol | category | µs more |");
  console.log("|:--|:--|--:|");
  const deltas = [...w.bySym].map(([k, v]) => [k, v.cat, v.us - (base.bySym.get(k)?.us ?? 0)]);
  deltas.sort((a, b) => b[2] - a[2]);
  for (const [k, cat, d] of deltas.slice(0, TOP)) {
    console.log(`| \`${k.length > 110 ? k.slice(0, 107) + "…" : k}\` | ${cat} | ${d.toFixed(2)} |`);
  }
}
