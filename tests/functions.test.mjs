// End to end: Studio's Run Function widget (run-function) in the BUILT worker in workerd through
// Miniflare, calling Functions by URL. The flow is tests/fixtures/flows/horoscope.json, given as
// the var flows/horoscope.json; its Functions are served by a loopback HTTP server that runs
// tests/fixtures/functions/get-sign.js in Twilio Functions' shape and, like a protected
// Function, refuses any call whose X-Twilio-Signature the official `twilio` package does not
// accept. Then `npm run flow -- check` on the same flow.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import twilio from "twilio";
import { startWorker, Phone, ROOT, AUTH_TOKEN } from "./helpers/worker.mjs";
import { projectVar } from "../scripts/flow.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const FLOW_FILE = "tests/fixtures/flows/horoscope.json";
const FLOW = fs.readFileSync(path.join(ROOT, FLOW_FILE), "utf8");
const GET_SIGN_SID = "ZH00000000000000000000000000000001";
const READING = "A good day to text a friend.";

let numberSeq = 0;
const nextNumber = () => `+1415558${String(1000 + (numberSeq += 1) * 37).slice(-4)}`;

/** The bodies of a TwiML answer's <Message>s. */
const texts = (answer) =>
  [...answer.text.matchAll(/<Message>(?:<Body>)?([\s\S]*?)(?:<\/Body>)?<\/Message>/g)].map(([, b]) =>
    b.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"),
  );

// Twilio.Response as Functions have it, enough for the fixture.
globalThis.Twilio ??= {
  Response: class {
    constructor() {
      this.statusCode = 200;
      this.body = "";
    }
    setStatusCode(code) {
      this.statusCode = code;
    }
    setBody(body) {
      this.body = body;
    }
  },
};
const getSign = createRequire(import.meta.url)("./fixtures/functions/get-sign.js");

/** Runs a Function's handler on `event` and answers `res` as Twilio's runtime does. */
function runHandler(handler, event, res) {
  handler({}, event, (error, response) => {
    if (error) return send(res, 500, "text/plain", String(error));
    if (response instanceof Twilio.Response) return send(res, response.statusCode, "application/json", JSON.stringify(response.body));
    if (typeof response === "string") return send(res, 200, "text/plain", response);
    return send(res, 200, "application/json", JSON.stringify(response));
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { "content-type": type });
  res.end(body);
}

/** The loopback Functions: each call checked with the official SDK under `token` (403 if not valid). */
async function functionsServer(t, token = AUTH_TOKEN) {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const url = `http://127.0.0.1:${server.address().port}${req.url}`;
      const signature = req.headers["x-twilio-signature"] ?? "";
      const valid = twilio.validateRequest(token, signature, url, params);
      seen.push({ path: req.url, method: req.method, params, valid, type: req.headers["content-type"], key: req.headers["idempotency-key"] });
      if (!valid) return send(res, 403, "text/plain", "invalid signature");
      if (req.url === "/get-sign") return runHandler(getSign.handler, params, res);
      if (req.url === "/reading") return send(res, 200, "text/plain", params.sign ? READING : "");
      return send(res, 404, "text/plain", "no such Function");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  return { base: `http://127.0.0.1:${server.address().port}`, seen };
}

/** The worker running the horoscope flow, its get_reading widget's own url on `base`. */
async function horoscope(t, base, vars = {}) {
  const flow = FLOW.replace("https://functions.example.com", base);
  const w = await startWorker({ CONVERSATION: "studio", STUDIO_FLOW: "horoscope", "flows/horoscope.json": flow, ...vars });
  t.after(() => w.dispose());
  return new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
}

test("run-function widgets call their Functions signed, and the replies use the answers", async (t) => {
  const functions = await functionsServer(t);
  // STUDIO_FUNCTIONS maps the exported widget's function_sid (it has no url) to a URL.
  const mapping = JSON.stringify({ [GET_SIGN_SID]: `${functions.base}/get-sign` });
  const phone = await horoscope(t, functions.base, { STUDIO_FUNCTIONS: mapping });
  assert.deepEqual(texts(await phone.send(" October 1 ")), [`Libra: ${READING}`]);
  const [sign, reading] = functions.seen;
  assert.equal(functions.seen.length, 2);
  assert.deepEqual(
    functions.seen.map((s) => [s.method, s.path, s.valid]),
    [
      ["POST", "/get-sign", true],
      ["POST", "/reading", true],
    ],
  );
  assert.deepEqual(sign.params, { birthday: "October 1", from: phone.from });
  assert.deepEqual(reading.params, { sign: "Libra" });
  assert.match(sign.type, /^application\/x-www-form-urlencoded/);
  assert.match(sign.key, /^[0-9a-f]{64}$/);
  assert.notEqual(sign.key, reading.key);
  assert.deepEqual(texts(await phone.send("july 30")), [`Leo: ${READING}`]);
});

test("a Function's error, or a signature it refuses, takes the fail transition", async (t) => {
  const functions = await functionsServer(t);
  const mapping = JSON.stringify({ [GET_SIGN_SID]: `${functions.base}/get-sign` });
  const phone = await horoscope(t, functions.base, { STUDIO_FUNCTIONS: mapping });
  assert.deepEqual(texts(await phone.send("someday")), ["No reading today (400)."]);

  // A protected Function of another account: it checks another token, and refuses the call.
  const elsewhere = await functionsServer(t, "another-accounts-auth-token");
  const other = JSON.stringify({ get_sign: `${elsewhere.base}/get-sign` });
  const refused = await horoscope(t, elsewhere.base, { STUDIO_FUNCTIONS: other });
  assert.deepEqual(texts(await refused.send("October 1")), ["No reading today (403)."]);
  assert.equal(elsewhere.seen[0].valid, false);
});

test("a run-function with nowhere to call is refused naming the widget and STUDIO_FUNCTIONS", async (t) => {
  const phone = await horoscope(t, "http://127.0.0.1:9");
  const answer = await phone.send("hi");
  assert.equal(answer.status, 500);
  assert.match(answer.text, new RegExp(`widget "get_sign": run-function with no URL: map its function_sid ${GET_SIGN_SID} in STUDIO_FUNCTIONS`));
  const bad = await horoscope(t, "http://127.0.0.1:9", { STUDIO_FUNCTIONS: "[1]" });
  const refused = await bad.send("hi");
  assert.equal(refused.status, 500);
  assert.match(refused.text, /^misconfigured: STUDIO_FUNCTIONS must be a JSON object/);
});

/** `npm run flow -- check FILE` with `env`: its exit code and output. */
function flowCheck(env, file = FLOW_FILE) {
  return new Promise((resolve) => {
    const options = { cwd: ROOT, env: { ...process.env, ...env }, timeout: 15 * 60 * 1000 };
    execFile(process.execPath, ["scripts/flow.mjs", "check", file], options, (error, stdout) => {
      resolve({ code: error ? error.code : 0, out: stdout });
    });
  });
}

test("npm run flow -- check says where each run-function runs, or what is missing", async () => {
  const local = JSON.stringify({ [GET_SIGN_SID]: "./tests/fixtures/functions/get-sign.js" });
  const found = await flowCheck({ STUDIO_FUNCTIONS: local });
  assert.equal(found.code, 0, found.out);
  assert.match(found.out, /ok {4}tests\/fixtures\/flows\/horoscope\.json: 5 widgets/);
  assert.match(found.out, /run-function "get_sign": runs the project's tests\/fixtures\/functions\/get-sign\.js \(found\)/);
  assert.match(found.out, /run-function "get_reading": calls https:\/\/functions\.example\.com\/reading/);

  const missing = await flowCheck({ STUDIO_FUNCTIONS: JSON.stringify({ get_sign: "functions/not-here.js" }) });
  assert.equal(missing.code, 1, missing.out);
  assert.match(missing.out, /run-function "get_sign": runs the project's functions\/not-here\.js \(no such file in the project\)/);

  const unmapped = await flowCheck({ STUDIO_FUNCTIONS: "" });
  assert.equal(unmapped.code, 1, unmapped.out);
  assert.match(unmapped.out, /FAIL {2}tests\/fixtures\/flows\/horoscope\.json/);
  assert.match(unmapped.out, /widget "get_sign": run-function with no URL: map its function_sid ZH0+1 in STUDIO_FUNCTIONS/);
});

test("the flow check reads STUDIO_FUNCTIONS from the environment, then .dev.vars, then wrangler.toml", (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "flow-vars-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.writeFileSync(path.join(root, "wrangler.toml"), `name = "x"\n\n[vars]\nSTUDIO_FUNCTIONS = '{"fn": "from-wrangler.js"}'\n`);
  assert.equal(projectVar("STUDIO_FUNCTIONS", { env: {}, root }), '{"fn": "from-wrangler.js"}');
  fs.writeFileSync(path.join(root, ".dev.vars"), `STUDIO_FUNCTIONS='{"fn": "from-dev-vars.js"}'\n`);
  assert.equal(projectVar("STUDIO_FUNCTIONS", { env: {}, root }), '{"fn": "from-dev-vars.js"}');
  assert.equal(projectVar("STUDIO_FUNCTIONS", { env: { STUDIO_FUNCTIONS: "{}" }, root }), "{}");
});
