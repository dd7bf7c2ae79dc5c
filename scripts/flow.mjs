// `npm run flow -- check flows/x.json [more.json …]`: checks Studio flows offline, as the
// worker checks them when its isolate starts (the same Rust code, through the dev phone's
// inspector built from the worker's crate), and lists every widget it cannot run and why,
// and where each run-function widget's calls go: a URL, or a Function file of the project
// (and whether it is there). Exits 1 when a flow has a problem or a mapped file is missing.
//
// STUDIO_FUNCTIONS and STUDIO_SUBFLOWS are read as the worker gets them: the environment wins,
// then .dev.vars (what `npm run dev` gives the worker), then wrangler.toml's [vars].
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildInspector, Inspector, wranglerVar } from "./inspector.mjs";
import { readDevVars } from "./dev-messages.mjs";
import { ROOT } from "./paths.mjs";

/** The vars of the project the flow check reads. */
const CHECK_VARS = ["STUDIO_FUNCTIONS", "STUDIO_SUBFLOWS"];
/** How a call to a Function file of the project is addressed (src/conversations/studio). */
const LOCAL_SCHEME = "function:";

/** Var `name` as the worker gets it: the environment, else .dev.vars, else wrangler.toml's [vars]. */
export function projectVar(name, { env = process.env, root = ROOT } = {}) {
  return env[name] ?? readDevVars(root)[name] ?? wranglerVar(name, root);
}

/**
 * What to print for a run-function widget of a checked flow (`{flow, widget, url}`): where
 * its calls go, and `missing` when it names a Function file that is not in the project.
 */
export function describeFunction({ flow, widget, url }, root = ROOT) {
  const name = `run-function "${widget}"${flow ? ` (${flow})` : ""}`;
  if (!url.startsWith(LOCAL_SCHEME)) return { line: `${name}: calls ${url}`, missing: false };
  const file = url.slice(LOCAL_SCHEME.length);
  const missing = !fs.existsSync(path.resolve(root, file));
  const where = missing ? "no such file in the project" : "found";
  return { line: `${name}: runs the project's ${file} (${where})`, missing };
}

async function main(argv) {
  const [command, ...files] = argv;
  if (command !== "check" || files.length === 0) {
    console.error("usage: npm run flow -- check flows/<name>.json [more.json …]");
    return 2;
  }
  // The inspector reads them from its environment, as the worker reads its vars.
  for (const name of CHECK_VARS) {
    const value = projectVar(name);
    if (value !== undefined) process.env[name] = value;
  }
  const inspector = new Inspector(await buildInspector((s) => process.stderr.write(s.replace("[phone]", "[flow]"))));
  let failed = false;
  for (const file of files) {
    const answer = await inspector.inspect({ secret: "", account_sid: "", to: "", from: "", cookie: "", now: 0, check_flow: path.resolve(file) });
    failed = report(file, answer) || failed;
  }
  inspector.close();
  return failed ? 1 : 0;
}

/** Prints one flow's check; true when it failed. */
function report(file, answer) {
  if (!answer.ok) {
    console.log(`FAIL  ${file}`);
    for (const problem of answer.problems ?? [answer.error]) console.log(`      ${problem}`);
    return true;
  }
  const functions = (answer.functions ?? []).map((f) => describeFunction({ ...f, flow: f.flow === answer.flow ? "" : f.flow }));
  const missing = functions.some((f) => f.missing);
  const flows = answer.flows.length > 1 ? ` (with ${answer.flows.filter((f) => f !== answer.flow).join(", ")})` : "";
  console.log(`${missing ? "FAIL" : "ok  "}  ${file}: ${answer.widgets} widgets${flows}`);
  for (const f of functions) console.log(`      ${f.line}`);
  return missing;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exit(await main(process.argv.slice(2)));
}
