// Bytes of a wasm with names, by crate (and by module of this crate), from twiggy's CSV:
//   twiggy top -n 100000 -f csv named.wasm | node bench/wasm-by-crate.mjs [rows]
// A function counts for the crate its path starts with (`<A as B>::f` for A's crate, B's
// when A is a type parameter); the
// async functions' state machines are named after js_sys's future_to_promise closures,
// and generic code after the crate that defines it, wherever it is instantiated.
import fs from "node:fs";

const rows = Number(process.argv[2] ?? 25);
const lines = fs.readFileSync(0, "utf8").trim().split("\n").slice(1);
const by = new Map();
let total = 0;
for (const line of lines) {
  // Name,ShallowSize,ShallowSizePercent (the name may be quoted and hold commas).
  const m = line.match(/^("(?:[^"]|"")*"|[^,]*),(\d+),/);
  if (!m) continue;
  const name = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
  const size = Number(m[2]);
  if (name.includes("function names")) continue;
  total += size;
  let key;
  if (/^(data|table|elem|type|import|export|code)\b/.test(name) || name.startsWith("(") || !/^[<A-Za-z_]/.test(name)) {
    key = `(${name.split(/[\s[]/)[0]})`;
  } else {
    // `<T as some_crate::Trait>::f`, T a type parameter: the trait's crate.
    const blanket = name.match(/^<[A-Z] as (?:dyn )?([A-Za-z_][A-Za-z0-9_]*)/)?.[1];
    const c = blanket ?? name.match(/^<*&?(?:mut |dyn )?([A-Za-z_][A-Za-z0-9_]*)/)?.[1] ?? name;
    const module = name.slice(name.indexOf(c)).match(/^sms_conversation_worker::([a-z_]+)/)?.[1];
    key = c === "sms_conversation_worker" ? `${c}::${module ?? "?"}` : c;
  }
  by.set(key, (by.get(key) ?? 0) + size);
}
const sorted = [...by].sort((a, b) => b[1] - a[1]);
console.log("| crate (or this crate's module) | bytes | share |");
console.log("|:--|--:|--:|");
for (const [k, v] of sorted.slice(0, rows)) console.log(`| \`${k}\` | ${v} | ${((100 * v) / total).toFixed(1)}% |`);
const rest = sorted.slice(rows).reduce((a, [, v]) => a + v, 0);
console.log(`| ${sorted.length - rows} more | ${rest} | ${((100 * rest) / total).toFixed(1)}% |`);
console.log(`| total (without the names section) | ${total} | 100% |`);
