// What the Durable Objects binding costs per webhook, against the cookie-only path: the
// built worker in bare `workerd serve`, with and without CONVERSATION_OBJECTS (SQLite on
// disk, as wrangler.toml declares it), each serving the same conversations one message at
// a time per pair (every message new and counted, so each is a full load → converse →
// save through the object). Prints one table; `--out FILE` also writes it as JSON.
//
//   node bench/objects.mjs [--pairs 20] [--messages 25] [--rounds 3]
//
// Latency is what a client sees on loopback (p50/p99 over all messages); CPU is workerd's
// own utime+stime over the run, per message (workerd runs the worker and its objects in
// one process), pinned to core 1 with the load on core 0 when there are two cores.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";

import { percentile, runConversations, startWorkerd } from "../scripts/load.mjs";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "20" },
    messages: { type: "string", default: "25" },
    rounds: { type: "string", default: "3" },
    out: { type: "string" },
  },
});
const PAIRS = Number(values.pairs);
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const PIN = os.availableParallelism() >= 2;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

const CASES = [
  { id: "cookie", label: "cookie only (defaults: encrypted, 10 turns)", objects: false },
  { id: "objects", label: "with CONVERSATION_OBJECTS (same, through the pair's object)", objects: true },
];

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(spec) {
  const w = await startWorkerd({ objects: spec.objects, cpu: PIN ? 1 : null });
  try {
    const webhookUrl = `${w.url}/sms`;
    // Warm-up: the first 5 messages of each pair; the measured ones follow with its cookies.
    const warm = await runConversations({ webhookUrl, pairs: PAIRS, messages: 5 });
    if (warm.failures.length) throw new Error(`${spec.id}: ${JSON.stringify(warm.failures[0])}`);
    const cpu0 = cpuSeconds(w.pid);
    const r = await runConversations({ webhookUrl, pairs: PAIRS, messages: MESSAGES, firstMessage: 6, jars: warm.jars });
    const cpu = cpuSeconds(w.pid) - cpu0;
    if (r.failures.length) throw new Error(`${spec.id}: ${JSON.stringify(r.failures[0])}`);
    return {
      p50: percentile(r.latenciesMs, 50),
      p99: percentile(r.latenciesMs, 99),
      cpuUs: (cpu * 1e6) / r.requests,
      rps: r.requests / (r.elapsedMs / 1000),
    };
  } finally {
    await w.stop();
  }
}

const results = Object.fromEntries(CASES.map((c) => [c.id, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const spec of CASES) results[spec.id].push(await measure(spec));
}
const rows = CASES.map((spec) => {
  const runs = results[spec.id];
  return {
    id: spec.id,
    label: spec.label,
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuUs: median(runs.map((r) => r.cpuUs)),
    rps: median(runs.map((r) => r.rps)),
  };
});
const base = rows[0];
const lines = [
  `Durable Objects: ${PAIRS} pairs × ${MESSAGES} messages at once (each pair one message at a time), median of ${ROUNDS} interleaved rounds`,
  "",
  "| path | p50 ms | p99 ms | CPU µs/message | × cookie | req/s |",
  "|:--|--:|--:|--:|--:|--:|",
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUs.toFixed(0)} | ${(r.cpuUs / base.cpuUs).toFixed(2)} | ${r.rps.toFixed(0)} |`,
  ),
];
console.log(lines.join("\n"));
if (values.out) fs.writeFileSync(values.out, JSON.stringify({ pairs: PAIRS, messages: MESSAGES, rounds: ROUNDS, rows }, null, 2));
