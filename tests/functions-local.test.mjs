// End to end: Twilio Functions run inside the worker. This repository's worker is built
// again (into a temporary folder) with tests/fixtures/functions/ as its functions/, and a
// Studio flow's Run Function widget, mapped by STUDIO_FUNCTIONS to one of those files, calls
// it in workerd through Miniflare. The Functions are written as for Twilio Functions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startWorker, Phone, ROOT } from "./helpers/worker.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const FIXTURES = path.join(ROOT, "tests/fixtures/functions");
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), "sms-functions-build-"));
const WEBHOOK = "https://sms.example.com/sms";
const SID = "ZH" + "0".repeat(31) + "1";
const OBJECTS = { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } };
const MARK = "is not available to a Function at the edge";

let numberSeq = 0;
const nextNumber = () => `+1415558${String(1000 + (numberSeq += 1) * 37).slice(-4)}`;

test.before(() => {
  // The same build as `npm run build`, with the fixtures as functions/, into OUT: the
  // repository's build/ stays without Functions.
  const r = spawnSync("bash", [path.join(ROOT, "scripts/build.sh")], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 20 * 60_000,
    env: { ...process.env, SMS_WORKER_OUT: OUT, SMS_WORKER_FUNCTIONS: FIXTURES },
  });
  assert.equal(r.status, 0, `the build failed:\n${r.stdout}\n${r.stderr}`);
  const bundled = /\[build\] functions: (.*)/.exec(r.stderr)?.[1].split(", ");
  for (const file of ["boom.js", "client.js", "created.js", "disk.js", "get-sign.js", "horoscope.js", "relay.js", "silent.js", "thrown.js"]) {
    assert.ok(bundled?.includes(file), `the build bundled ${file}: ${bundled}`);
  }
  assert.match(r.stderr, /warning: functions\/disk\.js requires fs/);
});
test.after(() => fs.rmSync(OUT, { recursive: true, force: true }));

/** A flow whose Run Function widget `fn` sends the text as `sign`, then says what came back. */
function flow(success = "ok {{widgets.fn.status_code}}: {{widgets.fn.body}}") {
  const say = (name, body) => ({
    name,
    type: "send-message",
    properties: { from: "{{flow.channel.address}}", to: "{{contact.channel.address}}", body },
    transitions: [{ event: "sent" }, { event: "failed" }],
  });
  return JSON.stringify({
    description: "asks a Function",
    initial_state: "Trigger",
    states: [
      { name: "Trigger", type: "trigger", properties: {}, transitions: [{ event: "incomingMessage", next: "fn" }] },
      {
        name: "fn",
        type: "run-function",
        properties: {
          service_sid: "ZS" + "0".repeat(32),
          environment_sid: "ZE" + "0".repeat(32),
          function_sid: SID,
          url: "",
          parameters: [
            { key: "sign", value: "{{trigger.message.Body}}" },
            { key: "day", value: "{{trigger.message.Body | strip | upcase}}" },
            { key: "name", value: "{{trigger.message.Body | strip}}" },
          ],
        },
        transitions: [
          { event: "success", next: "ok" },
          { event: "fail", next: "failed" },
        ],
      },
      say("ok", success),
      say("failed", "fail {{widgets.fn.status_code | default: 'none'}}: {{widgets.fn.body}}"),
    ],
  });
}

/** The built worker with `file` as the widget's Function; the reply to `text`. */
async function ask(t, file, text, { vars = {}, success, options = {} } = {}) {
  const w = await startWorker(
    {
      CONVERSATION: "studio",
      STUDIO_FLOW: "fn",
      "flows/fn.json": flow(success),
      STUDIO_FUNCTIONS: JSON.stringify({ [SID]: `./functions/${file}` }),
      GREETING: "hello from the vars",
      ...vars,
    },
    { scriptPath: path.join(OUT, "index.js"), modulesRoot: OUT, ...options },
  );
  t.after(() => w.dispose());
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  const answer = await phone.send(text);
  assert.equal(answer.status, 200, answer.text);
  return answer.reply;
}

test("a Function's JSON answer is the widget's parsed output, with its relative require and DOMAIN_NAME", async (t) => {
  const success = "{{widgets.fn.parsed.horoscope}} ({{widgets.fn.parsed.from}}, {{widgets.fn.status_code}})";
  assert.equal(await ask(t, "horoscope.js", " Leo ", { success }), "leo: a good day to text your friends. (sms.example.com, 200)");
  // No sign: callback("no sign") is a 500 whose body is the message, and Studio's fail.
  assert.equal(await ask(t, "horoscope.js", "  ", { success }), "fail 500: no sign");
});

test("fn-url's horoscope flow with its Functions local: one by function_sid, one by widget name", async (t) => {
  const w = await startWorker(
    {
      CONVERSATION: "studio",
      STUDIO_FLOW: "horoscope",
      "flows/horoscope.json": fs.readFileSync(path.join(ROOT, "tests/fixtures/flows/horoscope.json"), "utf8"),
      STUDIO_FUNCTIONS: JSON.stringify({ ZH00000000000000000000000000000001: "functions/get-sign.js", get_reading: "functions/horoscope.js" }),
    },
    { scriptPath: path.join(OUT, "index.js"), modulesRoot: OUT },
  );
  t.after(() => w.dispose());
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  const reading = JSON.stringify({ horoscope: "libra: a good day to text your friends.", from: "sms.example.com" });
  assert.equal((await phone.send("October 1")).reply, `Libra: ${reading}`);
  // get-sign.js answers a Twilio.Response with status 400: the widget's fail.
  assert.equal((await phone.send("someday")).reply, "No reading today (400).");
});

test("in the pair's Durable Object too: the Function sees the same vars", async (t) => {
  const success = "{{widgets.fn.parsed.greeting}} {{widgets.fn.parsed.booking}} {{widgets.fn.status_code}}";
  const options = { durableObjects: OBJECTS };
  assert.equal(await ask(t, "created.js", "mon", { success, options }), "hello from the vars B-MON 201");
});

test("a Twilio.Response's status and JSON body reach the flow", async (t) => {
  const success = "{{widgets.fn.status_code}} {{widgets.fn.parsed.booking}} {{widgets.fn.parsed.greeting}}";
  assert.equal(await ask(t, "created.js", "tue", { success }), "201 B-TUE hello from the vars");
});

test("callback(error), an async throw and a Node module are fails with their message", async (t) => {
  assert.equal(await ask(t, "boom.js", "x"), "fail 500: boom");
  assert.equal(await ask(t, "thrown.js", "sun"), "fail 500: no slot on SUN");
  assert.equal(await ask(t, "disk.js", "x"), `fail 500: require("fs") ${MARK}: a Function here can require files of the project by a relative path, and has fetch and Twilio.Response`);
  assert.equal(await ask(t, "client.js", "x"), `fail 500: context.getTwilioClient() ${MARK}: call Twilio's REST API with fetch`);
});

test("a Function mapped to a file the build did not bundle is a 404 naming it", async (t) => {
  assert.match(await ask(t, "missing.js", "x"), /^fail 404: no Function functions\/missing\.js in this worker \(the build bundled: functions\/boom\.js, /);
});

test("fetch inside a Function is the worker's", async (t) => {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`signed for ${new URL(req.url, "http://x").searchParams.get("name")}`);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const vars = { RELAY_URL: `http://127.0.0.1:${server.address().port}` };
  assert.equal(await ask(t, "relay.js", "Ada Lovelace", { vars }), "ok 200: signed for Ada Lovelace");
  assert.deepEqual(seen, ["/sign?name=Ada%20Lovelace"]);
});

test("a Function that never calls back fails after Studio's 10 s", { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  assert.equal(await ask(t, "silent.js", "x"), "fail none: ");
  const took = Date.now() - started;
  assert.ok(took >= 9_500 && took < 14_000, `${took} ms`);
});

test("a build without functions/ carries none of this", () => {
  const plain = fs.readFileSync(path.join(ROOT, "build/index.js"), "utf8");
  assert.ok(!plain.includes(MARK), "the repository's own build (no functions/) has no Functions runtime");
  assert.ok(fs.readFileSync(path.join(OUT, "index.js"), "utf8").includes(MARK));
});
