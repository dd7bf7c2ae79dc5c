// One autocannon run, in its own process so it can be pinned to a core apart from workerd:
//   node bench/cannon.mjs '<json: {url, method, headers, body, connections, duration}>'
// Prints one JSON line: requests, rps, latency p50/p99 in ms (from each response's own
// time, at µs resolution: autocannon's histogram keeps whole milliseconds), non-2xx, errors.
import fs from "node:fs";

import autocannon from "autocannon";

const opts = JSON.parse(process.argv[2]);
const latencies = [];
// With `requestsFile` (a JSON array of {method, headers, body}), the requests are sent in
// turn across all connections (bench/workerd.mjs's step rows).
const many = opts.requestsFile ? JSON.parse(fs.readFileSync(opts.requestsFile, "utf8")) : null;
let turn = 0;
const next = () => {
  const r = many[turn++ % many.length];
  return { method: r.method, headers: r.headers, body: r.body };
};
const instance = autocannon({
  ...(many ? { requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }] } : {}),
  url: opts.url,
  method: opts.method ?? "POST",
  headers: opts.headers ?? {},
  body: opts.body,
  connections: opts.connections ?? 8,
  pipelining: 1,
  duration: opts.duration ?? 10,
});
instance.on("response", (_client, statusCode, _bytes, responseTime) => {
  if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
});
const result = await instance;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))];
const requests = result.requests.total;
console.log(
  JSON.stringify({
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    p50: pct(50),
    p99: pct(99),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
