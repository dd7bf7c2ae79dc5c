// The wasm exports a worker's bundle never calls, so scripts/build.sh can remove them before
// wasm-opt. wasm-bindgen exports every `#[wasm_bindgen]` item of every crate in the build: with
// the `objects` feature, the `worker` crate's classes for streams, R2 ranges, containers'
// options and the Durable Object's WebSocket methods come along, used or not.
//   node scripts/wasm-exports.mjs shakeable <glue.js>          makes the glue tree-shakeable
//   node scripts/wasm-exports.mjs unused <glue.js> <bundle.js> the exports to remove, one a line
import fs from "node:fs";

// A glue class esbuild could not drop: its `Symbol.dispose` alias (for `using`, which no
// entry uses) is a statement with an effect, and its FinalizationRegistry a `new` esbuild
// cannot prove pure. Without the alias, and the registry marked pure, an unimported class
// leaves the bundle with the wasm exports it calls.
function shakeable(glue) {
  const text = fs.readFileSync(glue, "utf8");
  const out = text
    .replace(/^if \(Symbol\.dispose\) (\w+)\.prototype\[Symbol\.dispose\] = \1\.prototype\.free;$/gm, "")
    .replace(/: new FinalizationRegistry\(/g, ": /* @__PURE__ */ new FinalizationRegistry(");
  fs.writeFileSync(glue, out);
}

// The exports the glue calls (`wasm.<name>`) whose name appears nowhere in the minified bundle
// (esbuild keeps property names): what only code esbuild left out called. A name that shows
// up anywhere, even in a string, is kept.
function unused(glue, bundle) {
  const calls = fs.readFileSync(glue, "utf8").matchAll(/\bwasm\.([A-Za-z_$][\w$]*)/g);
  const called = new Set([...calls].map((m) => m[1]));
  const kept = new Set(fs.readFileSync(bundle, "utf8").match(/[A-Za-z_$][\w$]*/g));
  return [...called].filter((name) => !kept.has(name)).sort();
}

const [command, ...files] = process.argv.slice(2);
if (command === "shakeable" && files.length === 1) {
  shakeable(files[0]);
} else if (command === "unused" && files.length === 2) {
  for (const name of unused(...files)) console.log(name);
} else {
  console.error("usage: wasm-exports.mjs shakeable <glue.js> | unused <glue.js> <bundle.js>");
  process.exit(2);
}
