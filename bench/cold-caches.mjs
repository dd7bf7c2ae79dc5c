// What runs between two webhooks in workerd, imitated in Node: workerd's own work (HTTP, V8's
// Response, the event loop) leaves little of the wasm's code and data in the CPU's caches, so a
// call looped with warm caches costs less than one in place. `elsewhere()` touches 4 MiB of data
// and runs 400 other small JS functions; bench/wasm-core/run.mjs and bench/entry.mjs call it
// before each single call they time.
const junk = new Uint8Array(4 << 20);
const others = Array.from(
  { length: 400 },
  (_, k) => new Function("x", `let s = ${k}; for (let i = 0; i < 3; i++) { s = (s * ${k + 3} + x.length + i) | 0; if (s % ${(k % 7) + 2}) s ^= ${k}; else s += x.charCodeAt(i % x.length); } return s;`),
);
let sink = 0;

/** Touches the data and runs the functions; returns a sum so that none of it is optimised away. */
export function elsewhere() {
  for (const f of others) sink += f("elsewhere");
  sink += JSON.stringify({ event: "webhook", n: sink & 7, text: "x".repeat(64) }).length;
  for (let i = 0; i < junk.length; i += 64) sink += junk[i]++;
  return sink;
}
