// One load run with wrk (1 thread), in its own process so it can be pinned to a core apart
// from workerd:
//   node bench/wrk.mjs '<json: {url, method, headers, body, connections, duration, cpu}>'
// (or `requestsFile` in place of method, headers and body: several requests in turn)
// Prints one JSON line like bench/cannon.mjs: requests, seconds, rps, latency p50/p99 in ms,
// non-2xx, errors, timeouts. wrk is a C load generator: at 32 connections it needs a
// fraction of a core where autocannon (Node) needed all of one, so workerd is what limits.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const opts = JSON.parse(process.argv[2]);
// Lua long brackets carry the request verbatim (form bodies and cookies never hold "]==]").
const long = (s) => {
  if (String(s).includes("]==]")) throw new Error("request text holds ]==]");
  return `[==[${s}]==]`;
};
// With `requestsFile` (a JSON array of {method, headers, body}), the requests are sent in
// turn, the next one for whichever connection is free (bench/workerd.mjs's step rows).
const many = opts.requestsFile ? JSON.parse(fs.readFileSync(opts.requestsFile, "utf8")) : null;
const luaTable = (o) => `{ ${Object.entries(o).map(([k, v]) => `[ ${long(k)} ] = ${long(v)}`).join(", ")} }`;
const urlPath = new URL(opts.url).pathname;
const rotation = many && [
  `local reqs = {}`,
  `init = function(args)`,
  ...many.map((r, i) => `  reqs[${i + 1}] = wrk.format(${long(r.method)}, ${long(urlPath)}, ${luaTable(r.headers)}, ${long(r.body)})`),
  `end`,
  `local n = 0`,
  `request = function() n = n % #reqs + 1; return reqs[n] end`,
];
const lua = [
  ...(rotation ?? [
    `wrk.method = ${long(opts.method ?? "POST")}`,
    `wrk.body = ${long(opts.body ?? "")}`,
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `wrk.headers[ ${long(k)} ] = ${long(v)}`),
  ]),
  `done = function(summary, latency, requests)`,
  `  local e = summary.errors`,
  `  io.write(string.format('{"requests":%d,"us":%d,"p50":%d,"p99":%d,"non2xx":%d,"errors":%d,"timeouts":%d}\\n',`,
  `    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),`,
  `    e.status, e.connect + e.read + e.write, e.timeout))`,
  `end`,
].join("\n");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sms-wrk-"));
const script = path.join(dir, "request.lua");
fs.writeFileSync(script, lua);

const args = ["-t1", `-c${opts.connections ?? 32}`, `-d${opts.duration ?? 8}s`, "--timeout", "10s", "-s", script, opts.url];
const [cmd, argv] = opts.cpu == null ? ["wrk", args] : ["taskset", ["-c", String(opts.cpu), "wrk", ...args]];
const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
child.stdout.on("data", (d) => (out += d));
const code = await new Promise((resolve) => child.on("exit", resolve));
fs.rmSync(dir, { recursive: true, force: true });
if (code !== 0) {
  process.stderr.write(out);
  process.exit(code ?? 1);
}
const line = out.split("\n").find((l) => l.startsWith("{\"requests\""));
const r = JSON.parse(line);
const seconds = r.us / 1e6;
console.log(
  JSON.stringify({
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }),
);
