// Turns bench/.results/*.json into the three tables: printed, and written to RESULTS.md.
//   node bench/report.mjs <results dir> <RESULTS.md>
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const [dir, outFile] = process.argv.slice(2);
const read = (name) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
};
const json = (name) => (read(name) ? JSON.parse(read(name)) : null);
const native = json("native.json");
const nativeOpt3 = json("native-opt3.json");
const profiles = ["default", "signed"].map((c) => [c, read(`profile-${c}.md`)]).filter(([, t]) => t);
const wd = json("workerd.json");
const env = json("env.json") ?? {};
const twiggy = read("twiggy.txt");
const twiggyFloor = read("twiggy-floor.txt");

function table(headers, rows, align = headers.map((_, i) => (i === 0 ? "l" : "r"))) {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r) => "| " + r.map((c, i) => (align[i] === "l" ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  const rule = "|" + widths.map((w, i) => (align[i] === "l" ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(headers), rule, ...cells.map(line)].join("\n");
}
const f = (x, d = 1) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(d));
const kib = (b) => (b / 1024).toFixed(1);
const ok = (cond) => (cond ? "met" : "NOT met");

const out = [];
const gitRev = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  } catch {
    return "?";
  }
})();
const m = wd?.machine ?? {};
out.push("# Benchmarks");
out.push("");
out.push(
  "Written by `npm run bench` (`bash bench/run.sh`); do not edit by hand. Medians throughout. " +
    "The numbers are from a shared machine: compare rows of one run, not runs of different days.",
);
out.push("");
out.push(`- Commit: ${gitRev}, ${env.start ?? "?"} → ${env.end ?? "?"}`);
out.push(`- Machine: ${m.nproc ?? "?"} cores, ${m.cpu ?? "?"}; ${m.workerd ?? "workerd ?"}, Node ${m.node ?? "?"}`);
out.push(
  `- Other load: at start loadavg ${env.loadavg_at_start ?? "?"}${env.others_at_start ? ` (${env.others_at_start.trim()})` : " (no other busy process)"}; ` +
    `at end ${env.loadavg_at_end ?? "?"}${env.others_at_end ? ` (${env.others_at_end.trim()})` : ""}`,
);
if (wd) {
  out.push(
    `- workerd: ${wd.settings.connections} connections, ${wd.settings.duration} s × ${wd.settings.runs} runs (interleaved, after ${wd.settings.warmup} s warm-up each), ` +
      (m.pinned ? `workerd pinned to core ${m.pinned.workerd}, autocannon to core ${m.pinned.autocannon}` : "not pinned (one core)"),
  );
}
out.push("");

// 1. Native.
if (native) {
  const us = (group, fn) => native.find((r) => r.group === group && r.fn === fn)?.median_ns / 1000;
  out.push("## 1. Native core: one webhook through `app::handle` (criterion median)");
  out.push("");
  out.push(
    "Parse the 19-parameter Twilio form, verify `X-Twilio-Signature`, open the pair's cookie, count, seal, render TwiML; " +
      "`NoStore`, release profile of Cargo.toml (opt-level \"s\", fat LTO).",
  );
  out.push("");
  const cases = [
    ["defaults (encrypted, history)", "encrypted+history"],
    ["ENCRYPT_STATE=false (signed, history)", "signed+history"],
    ["HISTORY_TURNS=0 (signed, no history)", "signed,HISTORY_TURNS=0"],
  ];
  const us3 = (fn) => nativeOpt3?.find((r) => r.group === "webhook" && r.fn === fn)?.median_ns / 1000;
  out.push(
    table(
      ["configuration", "fresh conversation µs", "10th message µs", ...(nativeOpt3 ? ["fresh, opt-level 3", "10th, opt-level 3"] : [])],
      cases.map(([label, id]) => [
        label,
        f(us("webhook", `fresh/${id}`), 2),
        f(us("webhook", `10th/${id}`), 2),
        ...(nativeOpt3 ? [f(us3(`fresh/${id}`), 2), f(us3(`10th/${id}`), 2)] : []),
      ]),
    ),
  );
  if (nativeOpt3) {
    out.push("");
    out.push("(The opt-level 3 columns rebuild the same code with `CARGO_PROFILE_BENCH_OPT_LEVEL=3`; what ships is opt-level \"s\".)");
  }
  out.push("");
  const steps = native.filter((r) => r.group.startsWith("steps"));
  if (steps.length) {
    out.push(`Steps of the 10th message (defaults), each alone — ${steps[0].group}:`);
    out.push("");
    out.push(table(["step", "median µs"], steps.map((r) => [r.fn, f(r.median_ns / 1000, 3)])));
    out.push("");
  }
  const tenth = us("webhook", "10th/encrypted+history");
  const tenthSigned = us("webhook", "10th/signed,HISTORY_TURNS=0");
  out.push(
    `Target ≤ 5 µs median: defaults ${f(tenth, 1)} µs (${ok(tenth <= 5)}), HISTORY_TURNS=0 ${f(tenthSigned, 1)} µs (${ok(tenthSigned <= 5)}).`,
  );
  out.push("");
}

// 2. Throughput.
if (wd) {
  const floor = wd.throughput.workers.find((w) => w.id === "floor");
  out.push("## 2. In workerd: steady-state webhooks on loopback (autocannon)");
  out.push("");
  out.push(
    "Each request is message 10 of a pair with the cookie its 9th message left. The first is counted; every repeat of it is, " +
      "rightly, a retry of that MessageSid (the isolate remembers the pair's latest state, see src/recent.rs): the worker parses, " +
      "verifies, opens the cookie, answers from the kept turn and seals the cookie again, as for a new message, minus the reply " +
      "function and the KV write (no KV is bound here). " +
      "CPU is workerd's own utime+stime (/proc/<pid>/stat) over the run, per request.",
  );
  out.push("");
  out.push(
    table(
      ["worker", "req/s", "× floor", "CPU µs/req", "× floor", "above floor µs", "p50 ms", "p99 ms"],
      wd.throughput.workers.map((w) => [
        w.label,
        f(w.rps, 0),
        f(w.rps / floor.rps, 2),
        f(w.cpuUsPerReq, 1),
        f(w.cpuUsPerReq / floor.cpuUsPerReq, 2),
        w.id === "floor" ? "–" : f(w.cpuUsPerReq - floor.cpuUsPerReq, 1),
        f(w.p50, 3),
        f(w.p99, 3),
      ]),
    ),
  );
  out.push("");
  const runs = wd.throughput.workers
    .map((w) => `${w.id}: ${w.runs.map((r) => f(r.rps, 0)).join(" / ")} req/s`)
    .join("; ");
  out.push(`Runs: ${runs}.`);
  out.push("");
  for (const w of wd.throughput.workers.filter((w) => w.id.startsWith("rust"))) {
    out.push(`Target ≥ 0.9× floor throughput, ${w.label}: ${f(w.rps / floor.rps, 2)}× (${ok(w.rps / floor.rps >= 0.9)}).`);
  }
  out.push("");

  // 3. Size and cold start.
  out.push("## 3. Size and cold start");
  out.push("");
  out.push(
    "Sizes of what is deployed (gzip -9, as the upload limit counts). Cold start: spawning `workerd serve` until it listens " +
      "(config parsed, modules compiled), and until the first webhook (a signed first message) is answered; median of " +
      `${wd.settings.coldStarts}.`,
  );
  out.push("");
  const cold = Object.fromEntries(wd.coldStart.map((c) => [c.id, c]));
  const floorCold = cold.floor;
  out.push(
    table(
      ["worker", "wasm bytes", "wasm gzip", "JS bytes", "JS gzip", "listening ms", "first webhook ms", "× floor"],
      wd.sizes.map((s) => [
        s.label,
        s.wasm ? `${s.wasm.bytes} (${kib(s.wasm.bytes)} KiB)` : "–",
        s.wasm ? `${s.wasm.gzip} (${kib(s.wasm.gzip)} KiB)` : "–",
        `${s.js.bytes}`,
        `${s.js.gzip}`,
        f(cold[s.id]?.listenMs, 0),
        f(cold[s.id]?.firstWebhookMs, 0),
        f(cold[s.id]?.firstWebhookMs / floorCold.firstWebhookMs, 2),
      ]),
    ),
  );
  out.push("");
  const rust = wd.sizes.find((s) => s.id === "rust");
  out.push(
    `Target wasm ≤ 100 KB gzip: ${rust.wasm.gzip} bytes = ${kib(rust.wasm.gzip)} KiB (${ok(rust.wasm.gzip <= 100 * 1024)}); ` +
      `the floor alone is ${kib(wd.sizes.find((s) => s.id === "floor").wasm.gzip)} KiB.`,
  );
  out.push("");
}

for (const [config, text] of profiles) {
  out.push(`### Where the CPU goes in workerd (${config === "default" ? "defaults" : "HISTORY_TURNS=0"}; V8 sampling profiler, 100 µs)`);
  out.push("");
  out.push(
    "Self time per request while autocannon sends the steady-state request, with a copy of the wasm that keeps names. " +
      "The profiler slows everything down: read the shares, not the absolute µs.",
  );
  out.push("");
  out.push(text.trimEnd());
  out.push("");
}

if (twiggy) {
  out.push("### Where the bytes go (twiggy, build/index_bg.wasm)");
  out.push("");
  out.push("```");
  out.push(twiggy.trimEnd());
  out.push("```");
  out.push("");
}
if (twiggyFloor) {
  out.push("### The floor, for comparison (twiggy, bench/floor)");
  out.push("");
  out.push("```");
  out.push(twiggyFloor.split("\n## twiggy dominators")[0].trimEnd());
  out.push("```");
  out.push("");
}

const text = out.join("\n");
fs.writeFileSync(outFile, text + "\n");
console.log(text);
console.error(`[bench] wrote ${outFile}`);
