#!/usr/bin/env node
// `npm run conversation -- get|reset|set …`: the worker's state API for one pair
// (`/conversations/state?from=…&to=…`, enabled by ADMIN_API_KEY; see src/guide/running.md,
// "The state API"). Prints the API's JSON answer; exits 1 with its error otherwise.
//
//   npm run conversation -- get   --from +14155550100
//   npm run conversation -- reset --from +14155550100
//   npm run conversation -- set   --from +14155550100 --state '{"Zip":{"name":"Bea"}}'
//   npm run conversation -- set   --from +14155550100 --state-file state.json
//
// --url is the worker (default: the local `wrangler dev` one, from wrangler.toml), --to your
// Twilio number (default +15005550006), --key the ADMIN_API_KEY (default: the environment's
// ADMIN_API_KEY, else .dev.vars). The key is sent as a bearer token and never printed.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_TO, defaultUrl, devVar } from "./sms.mjs";

const USAGE = `usage: npm run conversation -- get|reset|set --from NUMBER [--to NUMBER]
       [--state JSON | --state-file FILE] [--url WORKER_URL] [--key ADMIN_API_KEY]`;

const METHODS = { get: "GET", reset: "DELETE", set: "PUT" };

/** The state API's URL for the pair, from the worker's URL (its /sms or its origin). */
export function stateUrl(worker, from, to) {
  const url = new URL(worker);
  url.pathname = "/conversations/state";
  url.search = new URLSearchParams({ from, to }).toString();
  return url.toString();
}

/** Runs the command: `{ status, body }` of the API's answer, or throws a usage error. */
export async function run(argv, { env = process.env, fetchFn = fetch } = {}) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: "string" },
      to: { type: "string", default: DEFAULT_TO },
      state: { type: "string" },
      "state-file": { type: "string" },
      url: { type: "string" },
      key: { type: "string" },
    },
  });
  const [command] = positionals;
  const method = METHODS[command];
  if (!method || positionals.length !== 1) throw new Error(USAGE);
  if (!values.from) throw new Error(`--from is required (the person's number)\n${USAGE}`);
  const key = values.key ?? env.ADMIN_API_KEY ?? devVar("ADMIN_API_KEY").value;
  if (!key) throw new Error("no ADMIN_API_KEY: pass --key, set it in the environment, or in .dev.vars");
  const init = { method, headers: { authorization: `Bearer ${key}` } };
  if (method === "PUT") {
    const text = values["state-file"] ? fs.readFileSync(values["state-file"], "utf8") : values.state;
    if (text === undefined) throw new Error(`set needs --state JSON or --state-file FILE\n${USAGE}`);
    let state;
    try {
      state = JSON.parse(text);
    } catch (e) {
      throw new Error(`the state is not JSON: ${e.message}`);
    }
    // A file saved from `get` holds the whole answer: its "state" is the state.
    if (values["state-file"] && state && typeof state === "object" && "state" in state && "seq" in state) {
      state = state.state;
    }
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify({ state });
  }
  const res = await fetchFn(stateUrl(values.url ?? defaultUrl(), values.from, values.to), init);
  return { status: res.status, body: await res.text() };
}

async function main() {
  let answer;
  try {
    answer = await run(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  const ok = answer.status >= 200 && answer.status < 300;
  let shown = answer.body;
  try {
    shown = JSON.stringify(JSON.parse(answer.body), null, 2);
  } catch {
    // A rejection's plain text.
  }
  (ok ? console.log : console.error)(ok ? shown : `HTTP ${answer.status}: ${shown.trim()}`);
  process.exit(ok ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
