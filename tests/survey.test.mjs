// End to end: the survey conversation (CONVERSATION=survey) of the BUILT worker (build/index.js
// + wasm) in workerd through Miniflare, driven the way Twilio drives it: every webhook signed
// with the official `twilio` package, the cookie Twilio keeps per To/From pair carried by a
// `Phone` per pair. Completed surveys are POSTed (SURVEY_RESULTS_URL) to a node:http receiver
// on 127.0.0.1 started here, so what the worker sends after its reply is seen for real.
//
// The texts are the survey's own (src/conversations/survey.rs); the flow is checked with the
// default history (HISTORY_TURNS=10, encrypted cookie) and with none (HISTORY_TURNS=0).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  AUTH_TOKEN,
  Phone,
  ROOT,
  TWILIO_NUMBER,
  newSid,
  startWorker,
  RESET_REPLY,
  EMPTY_TWIML,
  sleep,
  waitFor,
} from "./helpers/worker.mjs";
import { sendSms } from "../scripts/sms.mjs";

// Miniflare would otherwise fetch request.cf data from the internet at start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

// The public origin Twilio calls; dispatchFetch hands the URL to the worker as is.
const WEBHOOK = "https://sms-worker.example.com/sms";
const RESULTS_TOKEN = "survey-results-token-0123456789";

// The survey's texts.
const ASK_NAME = "Hi! What's your name?";
const ASK_ZIP = "What's your 5-digit ZIP code?";
const thanksName = (name) => `Thanks, ${name}. ${ASK_ZIP}`;
const BAD_ZIP = `Sorry, a ZIP code is 5 digits. ${ASK_ZIP}`;
const ASK_UPDATES = "Can we text you updates? Reply Y for yes or N for no.";
const YES_OR_NO = "Please reply Y (yes) or N (no).";
const completed = (name, zip, updates) => `Thanks, ${name}! ZIP ${zip}, updates: ${updates ? "yes" : "no"}.`;
const allSet = (name) => `You're all set, ${name}. Text RESET to start over.`;



let numberSeq = 0;
/** A distinct sender per conversation, so no two tests share a pair (or a receiver entry). */
const nextNumber = () => `+1415555${String(2000 + (numberSeq += 1)).padStart(4, "0")}`;

// ---------------------------------------------------------------------------------------
// The results receiver: a local HTTP endpoint whose behaviour a test can switch.

/**
 * Starts a receiver on 127.0.0.1 (port 0). `mode` is live: `{ status, delayMs, hang }`
 * (answer `status` after `delayMs`, or never when `hang`). `requests` holds every request:
 * `{ method, path, headers, body, json, receivedAt, answeredAt }`.
 */
async function startReceiver(mode = {}) {
  const receiver = { mode: { status: 200, delayMs: 0, hang: false, ...mode }, requests: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {
        // kept as text; the test asserts on it
      }
      const entry = { method: req.method, path: req.url, headers: req.headers, body, json, receivedAt: Date.now() };
      receiver.requests.push(entry);
      const { status, delayMs, hang } = receiver.mode;
      if (hang) return;
      const answer = () => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(status < 300 ? '{"ok":true}' : '{"error":"refused"}');
        entry.answeredAt = Date.now();
      };
      if (delayMs) setTimeout(answer, delayMs);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/leads`;
  /** The requests whose JSON names `from`. */
  receiver.from = (from) => receiver.requests.filter((r) => r.json?.from === from);
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** A 127.0.0.1 port nothing listens on (bound, then closed): connections are refused. */
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------------------
// Workers: started once, disposed at the end.

/** Starts the built worker with `vars`, keeping workerd's output (the worker's log lines). */
async function launch(vars, options = {}) {
  const logs = [];
  const w = await startWorker(vars, {
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
    },
    ...options,
  });
  const fetchFn = (url, init) => w.mf.dispatchFetch(url, init);
  return { ...w, logs, fetch: fetchFn, phone: (from = nextNumber()) => new Phone(fetchFn, WEBHOOK, from) };
}

/** The worker's `{"event":"after_reply",…}` log lines from index `since` on, parsed. */
function afterReplyLogs(w, since = 0) {
  return w.logs
    .slice(since)
    .filter((l) => l.includes('"event":"after_reply"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
}

// Two configurations, both with a results receiver: the default history with a bearer token,
// and no history without one.
const CONFIGS = [
  { label: "default history (HISTORY_TURNS=10)", vars: {}, token: RESULTS_TOKEN },
  { label: "HISTORY_TURNS=0", vars: { HISTORY_TURNS: "0" }, token: undefined },
];

const started = [];
const receivers = [];

before(async () => {
  for (const config of CONFIGS) {
    config.receiver = await startReceiver();
    receivers.push(config.receiver);
    const vars = { CONVERSATION: "survey", SURVEY_RESULTS_URL: config.receiver.url, ...config.vars };
    if (config.token) vars.SURVEY_RESULTS_TOKEN = config.token;
    // port 0: also served over real HTTP, for the simulator.
    config.worker = await launch(vars, { port: 0 });
    started.push(config.worker);
  }
});

after(async () => {
  for (const w of started) await w.dispose();
  for (const r of receivers) await r.close();
});

/** Sends `text` and asserts a 200 TwiML answer whose one message is `expected`. */
async function say(phone, text, expected, opts) {
  const r = await phone.send(text, opts);
  assert.equal(r.status, 200, `${JSON.stringify(text)}: ${r.text}`);
  assert.match(r.headers.get("content-type"), /^text\/xml/);
  assert.equal(r.reply, expected, `reply to ${JSON.stringify(text)}`);
  assert.equal((r.text.match(/<Message>/g) ?? []).length, 1, `one message: ${r.text}`);
  return r;
}

/** Drives a fresh phone up to the updates question as `name`, `zip`. */
async function upToUpdates(phone, name, zip) {
  await say(phone, "hi", ASK_NAME);
  await say(phone, name, thanksName(name));
  await say(phone, zip, ASK_UPDATES);
}

// ---------------------------------------------------------------------------------------
// The flow, with and without history.

for (const config of CONFIGS) {
  describe(`survey, ${config.label}`, () => {
    test("the whole survey: name (trimmed), ZIP re-asked until 5 digits, Y/N re-asked, then done", async () => {
      const phone = config.worker.phone();
      const first = await say(phone, "hello there", ASK_NAME);
      assert.match(first.setCookie, /^sms_state=2c[se]\./, "a sealed cookie of the current format");
      await say(phone, "  Rey  ", thanksName("Rey"));
      for (const bad of ["9410", "941050", "9410a", "94 105", "ninety", "", "９４１０５", "-9410"]) {
        await say(phone, bad, BAD_ZIP);
      }
      await say(phone, " 94105 ", ASK_UPDATES);
      for (const bad of ["maybe", "yess", "ok", "", "y n", "1"]) await say(phone, bad, YES_OR_NO);
      const done = await say(phone, "YeS", completed("Rey", "94105", true));
      assert.ok(Buffer.byteLength(done.setCookie) <= 4096, "the cookie fits Twilio's 4096 bytes");
      await say(phone, "hi", allSet("Rey"));
      await say(phone, "what now?", allSet("Rey"));
      await say(phone, "Y", allSet("Rey"));
    });

    test("Y, YES, N, NO in any case answer the updates question", async () => {
      const answers = { y: true, Y: true, yes: true, YES: true, Yes: true, " y ": true, n: false, N: false, no: false, NO: false, nO: false, " No ": false };
      for (const [answer, updates] of Object.entries(answers)) {
        const phone = config.worker.phone();
        await upToUpdates(phone, "Ada", "02139");
        await say(phone, answer, completed("Ada", "02139", updates));
        await say(phone, "thanks", allSet("Ada"));
      }
    });

    test("a name is cut to 60 characters (not bytes), and odd characters come back intact", async () => {
      const long = config.worker.phone();
      await say(long, "hi", ASK_NAME);
      await say(long, "x".repeat(100), thanksName("x".repeat(60)));
      await say(long, "12345", ASK_UPDATES);
      await say(long, "n", completed("x".repeat(60), "12345", false));

      const accents = config.worker.phone();
      await say(accents, "hi", ASK_NAME);
      await say(accents, "é".repeat(80), thanksName("é".repeat(60)));

      const xml = config.worker.phone();
      await say(xml, "hi", ASK_NAME);
      const r = await say(xml, `Ann & <Bo> "O'Neil"`, thanksName(`Ann & <Bo> "O'Neil"`));
      assert.ok(!r.text.includes("<Bo>"), `the name is escaped in the TwiML: ${r.text}`);

      // An empty name is no answer: the question is asked again.
      const blank = config.worker.phone();
      await say(blank, "hi", ASK_NAME);
      await say(blank, "   ", ASK_NAME);
      await say(blank, "Kay", thanksName("Kay"));
    });

    test("HELP (any case) explains, asks the current question again and changes nothing", async () => {
      const phone = config.worker.phone();
      const help = async (word, question) => {
        const r = await phone.send(word);
        assert.equal(r.status, 200, r.text);
        assert.ok(r.reply.endsWith(` ${question}`), `HELP asks ${JSON.stringify(question)} again: ${r.reply}`);
        assert.ok(r.reply.length > question.length + 20, `HELP explains: ${r.reply}`);
        return r.reply;
      };
      await say(phone, "hi", ASK_NAME);
      await help("HELP", ASK_NAME);
      await say(phone, "Rey", thanksName("Rey"));
      const zipHelp = await help("help", ASK_ZIP);
      assert.equal(await help(" Help ", ASK_ZIP), zipHelp, "HELP twice: the same text, nothing moved");
      await say(phone, "94105", ASK_UPDATES);
      await help("hElP", ASK_UPDATES);
      await say(phone, "n", completed("Rey", "94105", false));
      await help("HELP", allSet("Rey"));
      await say(phone, "ok", allSet("Rey"));
    });

    test("HELP as the very first text: the name question it asks takes the next text as the name", async () => {
      const phone = config.worker.phone();
      const r = await phone.send("HELP");
      assert.equal(r.status, 200, r.text);
      assert.ok(r.reply.endsWith(` ${ASK_NAME}`), `HELP asks the name: ${r.reply}`);
      // The person was just asked for their name, so their next text is the answer.
      await say(phone, "Rey", thanksName("Rey"));
    });

    test("BACK (any case) returns to the previous question", async () => {
      const phone = config.worker.phone();
      await say(phone, "hi", ASK_NAME);
      await say(phone, "BACK", ASK_NAME); // nothing before the name: the name again
      await say(phone, "Rey", thanksName("Rey"));
      await say(phone, "back", ASK_NAME); // ZIP question → name question
      await say(phone, "Kay", thanksName("Kay"));
      await say(phone, "94105", ASK_UPDATES);
      await say(phone, " Back ", ASK_ZIP); // updates question → ZIP question, name kept
      await say(phone, "10001", ASK_UPDATES);
      await say(phone, "BACK", ASK_ZIP);
      await say(phone, "BACK", ASK_NAME);
      await say(phone, "Lee", thanksName("Lee"));
      await say(phone, "60601", ASK_UPDATES);
      await say(phone, "y", completed("Lee", "60601", true));
      await say(phone, "bAcK", ASK_UPDATES); // done → the updates question, name and ZIP kept
      await say(phone, "n", completed("Lee", "60601", false));
      await say(phone, "hi", allSet("Lee"));
    });

    test("RESET (any case) at any step starts the survey over", async () => {
      for (const [steps, word] of [
        [["hi"], "RESET"],
        [["hi", "Rey"], "reset"],
        [["hi", "Rey", "94105"], " Reset "],
        [["hi", "Rey", "94105", "y"], "RESET"],
      ]) {
        const phone = config.worker.phone();
        for (const text of steps) await phone.send(text);
        const r = await say(phone, word, RESET_REPLY);
        assert.match(r.setCookie, /Max-Age=0/, "the cookie is deleted");
        await say(phone, "hello again", ASK_NAME);
        await say(phone, "Kay", thanksName("Kay"));
      }
    });

    test("STOP gets an empty <Response/>, keeps every text from the survey until START, and leaves it where it was", async () => {
      const phone = config.worker.phone();
      await say(phone, "hi", ASK_NAME);
      await say(phone, "Rey", thanksName("Rey"));
      for (const word of ["STOP", "stop", " Unsubscribe "]) {
        const r = await phone.send(word);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.text, EMPTY_TWIML, word);
        assert.match(r.headers.get("content-type"), /^text\/xml/);
      }
      // Opted out: the ZIP never reaches the survey, and nothing is answered.
      assert.equal((await phone.send("94105")).text, EMPTY_TWIML, "no answer while opted out");
      // START is Twilio's opt-in keyword, not an answer: the survey asks where it was.
      assert.equal((await phone.send("START")).text, EMPTY_TWIML);
      await say(phone, "94105", ASK_UPDATES);
      await say(phone, "y", completed("Rey", "94105", true));
      assert.equal((await phone.send("STOP")).text, EMPTY_TWIML);
      assert.equal((await phone.send("START")).text, EMPTY_TWIML);
      await say(phone, "hello", allSet("Rey"));
    });

    test("a retried MessageSid gets the same answer and advances nothing, at every step", async () => {
      const phone = config.worker.phone();
      // Each retry is sent twice: with the cookie of the first attempt (what Twilio resends
      // when it never got the answer) and with the cookie that answer set.
      const retry = async (text, expected) => {
        const sid = newSid();
        const before = phone.cookie;
        await say(phone, text, expected, { sid });
        const afterCookie = phone.cookie;
        await say(phone, text, expected, { sid, cookie: before });
        await say(phone, text, expected, { sid, cookie: afterCookie });
        phone.cookie = afterCookie;
      };
      await retry("hi", ASK_NAME);
      await retry("Rey", thanksName("Rey"));
      await retry("941", BAD_ZIP);
      await retry("help", (await phone.send("help", { cookie: phone.cookie })).reply);
      // Had the name been taken twice, or the ZIP step run again, this would differ.
      await retry("94105", ASK_UPDATES);
      await retry("maybe", YES_OR_NO);
      await retry("n", completed("Rey", "94105", false));
      await retry("ok", allSet("Rey"));
      await retry("back", ASK_UPDATES);
      await retry("Y", completed("Rey", "94105", true));
      await say(phone, "thanks", allSet("Rey"));
    });

    test(`a completed survey is POSTed once, after the reply, ${config.token ? "with" : "without"} a bearer token`, async () => {
      const { worker, receiver } = config;
      const phone = worker.phone();
      await upToUpdates(phone, "Rey", "94105");
      const t0 = Math.floor(Date.now() / 1000);
      const sid = newSid();
      const beforeFinal = phone.cookie;
      await say(phone, "Y", completed("Rey", "94105", true), { sid });
      const t1 = Math.ceil(Date.now() / 1000);
      const [post] = await waitFor(() => receiver.from(phone.from).length && receiver.from(phone.from), "the results POST");

      assert.equal(post.method, "POST");
      assert.equal(post.path, "/leads");
      assert.match(post.headers["content-type"] ?? "", /^application\/json/);
      if (config.token) assert.equal(post.headers.authorization, `Bearer ${config.token}`);
      else assert.equal(post.headers.authorization, undefined, "no Authorization header without a token");
      assert.ok(post.json, `a JSON body: ${post.body}`);
      assert.deepEqual(Object.keys(post.json).sort(), ["completed_at", "from", "name", "to", "updates", "zip"]);
      const { completed_at: at, ...rest } = post.json;
      assert.deepEqual(rest, { from: phone.from, to: TWILIO_NUMBER, name: "Rey", zip: "94105", updates: true });
      assert.ok(Number.isInteger(at) && at >= t0 - 1 && at <= t1 + 1, `completed_at ${at} in Unix seconds [${t0}, ${t1}]`);

      // Retries of the final message (both cookies) and later texts post nothing...
      await say(phone, "Y", completed("Rey", "94105", true), { sid, cookie: beforeFinal });
      await say(phone, "Y", completed("Rey", "94105", true), { sid });
      await say(phone, "hi", allSet("Rey"));
      await say(phone, "help", (await phone.send("help", { cookie: phone.cookie })).reply);
      // ...and a second completion after RESET posts again (its POST, arriving after anything
      // the retries could have sent, ends the wait without a fixed sleep).
      await say(phone, "RESET", RESET_REPLY);
      await upToUpdates(phone, "Kay", "10001");
      await say(phone, "no", completed("Kay", "10001", false));
      const posts = await waitFor(() => receiver.from(phone.from).length >= 2 && receiver.from(phone.from), "the second POST");
      assert.equal(posts.length, 2, `exactly two POSTs: ${posts.map((p) => p.body).join(" | ")}`);
      assert.deepEqual(
        { ...posts[1].json, completed_at: 0 },
        { from: phone.from, to: TWILIO_NUMBER, name: "Kay", zip: "10001", updates: false, completed_at: 0 },
      );
      if (config.token) assert.equal(posts[1].headers.authorization, `Bearer ${config.token}`);
      // Nothing went wrong, so nothing was logged as failed.
      assert.deepEqual(afterReplyLogs(worker), []);
    });
  });
}

// ---------------------------------------------------------------------------------------
// A results endpoint that is slow, refusing or down never changes or delays the reply.

describe("a slow, refusing or unreachable results endpoint", () => {
  let receiver;
  let w;
  before(async () => {
    receiver = await startReceiver();
    w = await launch({
      CONVERSATION: "survey",
      SURVEY_RESULTS_URL: receiver.url,
      SURVEY_RESULTS_TOKEN: RESULTS_TOKEN,
    });
  });
  after(async () => {
    await w?.dispose();
    await receiver?.close();
  });

  test("slow (answers after 3 s): the reply does not wait for it", async () => {
    receiver.mode = { status: 200, delayMs: 3000, hang: false };
    const phone = w.phone();
    await upToUpdates(phone, "Rey", "94105");
    const t = Date.now();
    await say(phone, "y", completed("Rey", "94105", true));
    const ms = Date.now() - t;
    assert.ok(ms < 1500, `the webhook answered in ${ms} ms, not after the endpoint's 3 s`);
    // The next message of the pair is not held up either.
    const t2 = Date.now();
    await say(phone, "hi", allSet("Rey"));
    assert.ok(Date.now() - t2 < 1500, "the next webhook is not held up");
    // The POST did go out, and the endpoint took its 3 s to answer.
    const [post] = await waitFor(() => receiver.from(phone.from)[0]?.answeredAt && receiver.from(phone.from), "the slow POST to be answered");
    assert.equal(post.json.name, "Rey");
    assert.equal(post.headers.authorization, `Bearer ${RESULTS_TOKEN}`);
    assert.ok(post.answeredAt - t >= 2900, "the endpoint was slow");
  });

  test("refusing (500): the reply is the same, a 200, and the failure is logged", async () => {
    receiver.mode = { status: 500, delayMs: 0, hang: false };
    const phone = w.phone();
    await upToUpdates(phone, "Rey", "94105");
    const since = w.logs.length;
    const r = await say(phone, "N", completed("Rey", "94105", false));
    assert.match(r.setCookie, /^sms_state=2c[se]\./);
    await waitFor(() => receiver.from(phone.from).length, "the refused POST");
    const [line] = await waitFor(() => afterReplyLogs(w, since).length && afterReplyLogs(w, since), "the after_reply log line");
    assert.equal(line.task, "survey_results");
    assert.match(line.error, /500/);
    // The conversation goes on as if the endpoint had taken it.
    await say(phone, "hi", allSet("Rey"));
  });

  test("hanging past the request timeout: the reply is unaffected, the timeout is logged", async () => {
    receiver.mode = { status: 200, delayMs: 0, hang: true };
    const phone = w.phone();
    await upToUpdates(phone, "Rey", "94105");
    const since = w.logs.length;
    const t = Date.now();
    await say(phone, "y", completed("Rey", "94105", true));
    assert.ok(Date.now() - t < 1500, "the webhook did not wait for the hanging endpoint");
    await waitFor(() => receiver.from(phone.from).length, "the POST to reach the hanging endpoint");
    // The worker gives up after its request timeout (5 s by default) and logs it.
    const [line] = await waitFor(
      () => afterReplyLogs(w, since).length && afterReplyLogs(w, since),
      "the after_reply timeout log line",
      15_000,
    );
    assert.equal(line.task, "survey_results");
    assert.match(line.error, /time/i);
    await say(phone, "hi", allSet("Rey"));
  });

  test("the logs never hold the results token", () => {
    assert.ok(w.logs.length > 0);
    assert.ok(!w.logs.join("\n").includes(RESULTS_TOKEN), "SURVEY_RESULTS_TOKEN in the logs");
  });
});

test("an unreachable results endpoint (connection refused): same reply, a 200, logged", async () => {
  const port = await closedPort();
  const w = await launch({ CONVERSATION: "survey", SURVEY_RESULTS_URL: `http://127.0.0.1:${port}/leads` });
  try {
    const phone = w.phone();
    await upToUpdates(phone, "Rey", "94105");
    const since = w.logs.length;
    await say(phone, "yes", completed("Rey", "94105", true));
    const [line] = await waitFor(() => afterReplyLogs(w, since).length && afterReplyLogs(w, since), "the after_reply log line");
    assert.equal(line.task, "survey_results");
    assert.equal(typeof line.error, "string");
    assert.ok(line.error.length > 0);
    await say(phone, "hi", allSet("Rey"));
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// Configuration.

test("an unknown CONVERSATION gives 500 'misconfigured: CONVERSATION …' to every webhook", async () => {
  const w = await launch({ CONVERSATION: "quizzz" });
  try {
    const phone = w.phone();
    for (const text of ["hi", "RESET"]) {
      const r = await phone.send(text);
      assert.equal(r.status, 500, r.text);
      assert.ok(r.text.startsWith("misconfigured: CONVERSATION"), r.text);
      assert.equal(r.setCookie, null);
    }
    await waitFor(() => w.logs.some((l) => l.includes("misconfigured: CONVERSATION")), "the misconfiguration log line");
    assert.ok(!w.logs.join("\n").includes("quizzz"), "the bad value is not logged");
  } finally {
    await w.dispose();
  }
});

test("a SURVEY_RESULTS_URL that is not http(s) gives 500 'misconfigured: SURVEY_RESULTS_URL …'", async () => {
  const w = await launch({ CONVERSATION: "survey", SURVEY_RESULTS_URL: "ftp://crm.example/leads" });
  try {
    const r = await w.phone().send("hi");
    assert.equal(r.status, 500, r.text);
    assert.ok(r.text.startsWith("misconfigured: SURVEY_RESULTS_URL"), r.text);
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// The simulator (`npm run sms`, scripts/sms.mjs) against the survey over real HTTP.

test("the simulator (sendSms and the npm run sms CLI) drives the survey over real HTTP", async () => {
  const { worker, receiver } = CONFIGS[0];
  const url = new URL("/sms", worker.url).href;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/sms$/);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sms-survey-"));
  try {
    const jarFile = path.join(tmp, "jar.json");
    const from = nextNumber();
    const opts = { url, token: AUTH_TOKEN, from, jarFile };
    const r1 = await sendSms({ ...opts, body: "hello" });
    assert.equal(r1.status, 200, r1.text);
    assert.deepEqual(r1.replies, [ASK_NAME]);
    assert.match(r1.cookieStored, /^sms_state=2c[se]\./);
    assert.deepEqual((await sendSms({ ...opts, body: "Ada" })).replies, [thanksName("Ada")]);
    assert.deepEqual((await sendSms({ ...opts, body: "0213" })).replies, [BAD_ZIP]);
    const zip = await sendSms({ ...opts, body: "02139" });
    assert.deepEqual(zip.replies, [ASK_UPDATES]);
    // A Twilio retry through the simulator (--sid): same answer, nothing advances.
    const again = await sendSms({ ...opts, body: "02139", sid: zip.request.params.MessageSid });
    assert.deepEqual(again.replies, [ASK_UPDATES]);

    // The last answer through the CLI itself, as `npm run sms -- …` runs it.
    const cli = await runCli(["--url", url, "--token", AUTH_TOKEN, "--jar", jarFile, "--from", from, "N"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, completed("Ada", "02139", false) + "\n");
    const post = await waitFor(() => receiver.from(from)[0], "the simulator's survey POST");
    assert.equal(post.json.name, "Ada");
    assert.equal(post.json.updates, false);

    assert.deepEqual((await sendSms({ ...opts, body: "hi" })).replies, [allSet("Ada")]);
    const reset = await sendSms({ ...opts, body: "reset" });
    assert.deepEqual(reset.replies, [RESET_REPLY]);
    assert.equal(reset.cookieStored, null, "RESET deletes the simulator's cookie");
    assert.deepEqual((await sendSms({ ...opts, body: "hi" })).replies, [ASK_NAME]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Runs scripts/sms.mjs (what `npm run sms` runs); resolves to { code, stdout, stderr }. */
function runCli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "scripts/sms.mjs"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
