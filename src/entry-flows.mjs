// The flows the build bundled from the project's flows/*.json (scripts/build.sh writes
// flows.mjs beside this file), seen by the wasm as the vars `flows/<name>.json`: a Studio
// flow too large for a var works as well, and a var of that name (a test's) wins.
import FLOWS from "./flows.mjs";

const NAMES = Object.keys(FLOWS);
const seen = new WeakMap();

/// `env` with the bundled flows readable as vars; `env` itself when there are none.
export function withFlows(env) {
  if (NAMES.length === 0 || env === null || typeof env !== "object") return env;
  let merged = seen.get(env);
  if (merged === undefined) {
    merged = Object.create(env);
    for (const name of NAMES) if (!(name in env)) merged[name] = FLOWS[name];
    seen.set(env, merged);
  }
  return merged;
}
