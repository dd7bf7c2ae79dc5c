// Times the core in wasm under Node (bench/wasm-core): µs per call, median of rounds.
//   node bench/wasm-core/run.mjs <pkg dir> [--rounds 7] [--ms 300] [--json]
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { elsewhere } from "../cold-caches.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "7" }, ms: { type: "string", default: "300" }, json: { type: "boolean" } },
});
const pkg = createRequire(import.meta.url)(path.resolve(positionals[0], "sms_bench_wasm_core.js"));
const ROUNDS = Number(values.rounds);
const MS = Number(values.ms);

/** The middle value (the upper one of an even count). */
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function time(what) {
  // Calibrate a batch of about 20 ms, warm up, then median of rounds of MS ms each.
  let n = 1;
  for (;;) {
    const t = performance.now();
    pkg.run(what, n);
    if (performance.now() - t > 20) break;
    n *= 2;
  }
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < MS) {
      pkg.run(what, n);
      calls += n;
    }
    rounds.push(((performance.now() - start) * 1000) / calls);
  }
  return median(rounds);
}

// One call at a time, each after `elsewhere()` (bench/cold-caches.mjs), imitates a webhook in
// workerd; against the same single calls with nothing between them (which include the call's
// own overhead), the difference is what cold caches cost the core.

/** µs of one call of `what`, median of `n`, with `between` run before each. */
function single(what, between, n = 1500) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    between();
    const t = process.hrtime.bigint();
    pkg.run(what, 1);
    xs.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return median(xs);
}

const out = [];
for (const config of ["signed", "default"]) {
  const cookieBytes = pkg.setup(config);
  const row = { config, cookieBytes };
  for (const what of ["tenth", "retry", "fresh", "parse", "typed", "verify", "open", "seal"]) row[what] = time(what);
  row.retryOnce = single("retry", () => {});
  row.retryCold = single("retry", elsewhere);
  out.push(row);
}
const PRIMITIVES = ["sha1-1k", "sha256-1k", "chacha20poly1305-1k", "chacha20-1k", "poly1305-1k", "base64-encode-1k", "base64-decode-1k", "postcard-record"];
const primitives = Object.fromEntries(PRIMITIVES.map((p) => [p, time(p)]));
const futureBytes = pkg.handle_future_bytes();
if (values.json) console.log(JSON.stringify({ webhook: out, primitives, futureBytes }));
else {
  console.log(`app::handle's future: ${futureBytes} bytes`);
  console.log(PRIMITIVES.map((p) => `${p} ${primitives[p].toFixed(2)}`).join(", "));
  for (const r of out)
    console.log(
      `${r.config.padEnd(8)} cookie ${r.cookieBytes} B: 10th ${r.tenth.toFixed(2)} µs, retry ${r.retry.toFixed(2)}, fresh ${r.fresh.toFixed(2)}; ` +
        ["parse", "typed", "verify", "open", "seal"].map((k) => `${k} ${r[k].toFixed(2)}`).join(", ") +
        `; retry once ${r.retryOnce.toFixed(2)}, cold caches ${r.retryCold.toFixed(2)}`,
    );
}
