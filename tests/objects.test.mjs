// End-to-end: the optional Durable Objects binding (CONVERSATION_OBJECTS, class
// ConversationObject) of the built worker, in workerd through Miniflare, driven like Twilio
// (signed webhooks, one cookie jar per pair), with a local stand-in of Twilio's Messages API
// (tests/helpers/messages-api.mjs) for what the worker sends itself: follow-ups (the
// object's alarm) and conversations it starts (POST /conversations).
//
// Miniflare runs the objects SQLite-backed (as wrangler.toml's new_sqlite_classes) and their
// alarms on real timers; `durableObjectsPersist` keeps them across a restart (a new isolate,
// the objects' storage kept). Everything waits on conditions; the only fixed waits are where
// a delay is the point (nothing may arrive during it).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  startWorker,
  startWorkerWithPeers,
  captureLogs,
  Phone,
  newSid,
  ACCOUNT_SID,
  AUTH_TOKEN,
  TWILIO_NUMBER,
  sleep,
  waitFor,
  events,
} from "./helpers/worker.mjs";
import { startMessagesApi, twilioError } from "./helpers/messages-api.mjs";

// Miniflare would otherwise fetch request.cf data from the internet at start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const START = "http://localhost/conversations";
const OUTBOUND_KEY = "outbound-key-0123456789abcdef";
const NEW = "Hello, thanks for the new message.";
const expected = (n) => (n === 1 ? NEW : `Hello, thanks for message number ${n}`);
const ASK_NAME = "Hi! What's your name?";
const ASK_ZIP = "What's your 5-digit ZIP code?";
const REMIND_NAME = "Just checking in: What's your name?";
const REMIND_ZIP = `Just checking in: ${ASK_ZIP}`;

/** The binding as wrangler.toml declares it (a SQLite-backed class). */
const OBJECTS = { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } };

let numberSeq = 0;
/** A distinct sender per conversation, so no two tests share a pair (or an object). */
const nextNumber = () => `+1415555${String(3000 + (numberSeq += 1) * 43).slice(-4)}`;

const phoneOn = (mf, from = nextNumber()) =>
  new Phone((url, init) => mf.dispatchFetch(url, init), WEBHOOK, from);

/** Points `phone` at another (restarted) worker; its cookie jar stays. */
function attach(phone, w) {
  phone.fetchFn = (url, init) => w.mf.dispatchFetch(url, init);
  return phone;
}



/** A fresh directory for the objects' storage, removed when the test ends. */
function persistDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "objects-e2e-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts the built worker with the objects bound (unless `objects: false`), its log captured
 * in `logs`, objects kept in `persist` when given. `vars` go over startWorker's defaults.
 */
async function start(vars = {}, { objects = true, persist, logs = captureLogs() } = {}) {
  const options = { handleRuntimeStdio: logs.handleRuntimeStdio };
  if (objects) options.durableObjects = OBJECTS;
  if (persist) options.durableObjectsPersist = persist;
  return startWorker(vars, options);
}

/** Starts the Messages API stand-in for ACCOUNT_SID (basic auth with AUTH_TOKEN by default). */
async function messagesApi(t, opts = {}) {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN, ...opts });
  t.after(() => api.close());
  return api;
}

/** `POST /conversations` with `json` (an object, or a raw string) and the bearer `key`. */
async function startConversation(mf, json, { key = OUTBOUND_KEY, method = "POST", headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (key !== null) init.headers.authorization = `Bearer ${key}`;
  if (method !== "GET" && method !== "HEAD") {
    init.headers["content-type"] = "application/json";
    init.body = typeof json === "string" ? json : JSON.stringify(json);
  }
  const res = await mf.dispatchFetch(START, init);
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the test asserts on `text`.
  }
  return { status: res.status, text, body, headers: res.headers };
}

/**
 * The form of a Create Message request without its StatusCallback, after checking that it
 * has one on the worker (`/sms/status?o=<send>.<n>`, where Twilio reports the delivery).
 */
function sentForm(form) {
  const { StatusCallback, ...rest } = form;
  assert.match(StatusCallback ?? "", /^http:\/\/localhost\/sms\/status\?o=[\w-]+\.\d+$/, "a StatusCallback on the worker");
  return rest;
}

/** Asserts every request the stand-in got passed its checks (path, basic auth, form). */
function assertWellFormed(api) {
  for (const r of api.requests) {
    assert.deepEqual(r.problems, [], `Messages API request ${r.method} ${r.path}: ${r.problems}`);
  }
}

// ---------------------------------------------------------------------------------------
// 1–4. Exact conversations: the object's record is authoritative.

test("a stale cookie sent after a restart (new isolate, objects kept) does not roll the count back", async (t) => {
  const persist = persistDir(t);
  let w = await start({}, { persist });
  const phone = phoneOn(w.mf);
  let afterOne;
  try {
    for (let n = 1; n <= 3; n++) {
      const res = await phone.send(`hello ${n}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.reply, expected(n));
      if (n === 1) afterOne = phone.cookie;
    }
    assert.ok(afterOne, "message 1 set a cookie");
  } finally {
    await w.dispose();
  }
  w = await start({}, { persist });
  attach(phone, w);
  try {
    const res = await phone.send("four, with the cookie of message 1", { cookie: afterOne });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, expected(4));
    assert.equal(res.headers.get("x-state-source"), "object");
    assert.ok(res.setCookie, "the answer still refreshes the cookie (the copy for when the object is unreachable)");
    assert.equal((await phone.send("five")).reply, expected(5));
  } finally {
    await w.dispose();
  }
});

test("10 texts at once with one and the same cookie are counted 2..11, none repeated", async () => {
  const w = await start();
  try {
    const phone = phoneOn(w.mf);
    assert.equal((await phone.send("first")).reply, NEW);
    const cookie = phone.cookie;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => phone.send(`burst ${i}`, { cookie })),
    );
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      // Through the pair's object (one isolate alone would also serialise these).
      assert.equal(a.headers.get("x-state-source"), "object");
    }
    const numbers = answers
      .map((a) => {
        const m = /^Hello, thanks for message number (\d+)$/.exec(a.reply ?? "");
        assert.ok(m, `a counted reply: ${a.reply}`);
        return Number(m[1]);
      })
      .sort((a, b) => a - b);
    assert.deepEqual(numbers, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // And the conversation goes on from 11, whatever cookie the jar kept last.
    assert.equal((await phone.send("after the burst", { cookie })).reply, expected(12));
  } finally {
    await w.dispose();
  }
});

test("a lost cookie continues at once (no cookie → the next number), even after a restart", async (t) => {
  const persist = persistDir(t);
  let w = await start({}, { persist });
  const phone = phoneOn(w.mf);
  try {
    assert.equal((await phone.send("one")).reply, expected(1));
    assert.equal((await phone.send("two")).reply, expected(2));
    const res = await phone.send("three, cookie lost", { cookie: null });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, expected(3));
    assert.equal(res.headers.get("x-state-source"), "object");
  } finally {
    await w.dispose();
  }
  w = await start({}, { persist });
  attach(phone, w);
  try {
    const res = await phone.send("four, no cookie, new isolate", { cookie: null });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, expected(4));
    assert.equal(res.headers.get("x-state-source"), "object");
  } finally {
    await w.dispose();
  }
});

test("CONVERSATION_TTL_SECONDS of a day with the objects: accepted, the cookie 4 hours at most, a text without its cookie continues from the object", async () => {
  const w = await start({ CONVERSATION_TTL_SECONDS: "86400" });
  const phone = phoneOn(w.mf);
  try {
    const first = await phone.send("one");
    assert.equal(first.status, 200, first.text);
    assert.match(first.setCookie, /; Max-Age=14400/);
    assert.equal((await phone.send("two")).reply, expected(2));
    const res = await phone.send("three, the cookie dropped", { cookie: null });
    assert.equal(res.reply, expected(3));
    assert.equal(res.headers.get("x-state-source"), "object");
  } finally {
    await w.dispose();
  }
});

test("a retried MessageSid is answered again without counting", async () => {
  const logs = captureLogs();
  const w = await start({}, { logs });
  try {
    const phone = phoneOn(w.mf);
    assert.equal((await phone.send("one")).reply, expected(1));
    const before = phone.cookie;
    const sid = newSid();
    assert.equal((await phone.send("two", { sid })).reply, expected(2));
    // Twilio retries with the request it sent: the cookie it had then. And with none.
    for (const cookie of [before, null, phone.cookie]) {
      const retry = await phone.send("two", { sid, cookie });
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.reply, expected(2), `retry with ${cookie ? "a cookie" : "no cookie"}`);
      assert.equal(retry.headers.get("x-state-source"), "object");
    }
    assert.equal((await phone.send("three")).reply, expected(3));
    const outcomes = await waitFor(() => {
      const lines = events(logs, "webhook");
      return lines.length >= 6 && lines.map((l) => l.outcome);
    }, "six webhook log lines");
    assert.deepEqual(outcomes, ["reply", "reply", "retry", "retry", "retry", "reply"]);
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// 5–6. Follow-ups: the object's alarm sends them through the Messages API.

// The worker's clock is whole seconds; the object adds one second to the due time so a
// reminder never comes before DELAY s (it may come up to a second after).
const DELAY = 3;
const NOT_BEFORE = DELAY * 1000 - 50; // ms; the slack is timer granularity

test("survey reminders: after the delay and not before, exactly once, never for a question answered in time", { concurrency: true }, async (t) => {
  const api = await messagesApi(t);
  const logs = captureLogs();
  const w = await start(
    { CONVERSATION: "survey", SURVEY_REMINDER_SECONDS: String(DELAY), TWILIO_API_BASE_URL: api.url },
    { logs },
  );
  t.after(() => w.dispose());

  const quiet = t.test("left unanswered: one reminder, from the Twilio number to the person; the next reply continues the survey", async (t) => {
    const phone = phoneOn(w.mf);
    const sent = Date.now();
    const first = await phone.send("hi");
    assert.equal(first.status, 200, first.text);
    assert.equal(first.reply, ASK_NAME);
    // The point is the delay: nothing may reach the Messages API during it.
    await sleep(NOT_BEFORE - (Date.now() - sent));
    assert.deepEqual(api.to(phone.from), [], "no reminder before the delay");
    const reminder = await api.waitFor((rs) => rs.find((r) => r.form.To === phone.from), "the reminder", 10_000);
    const after = reminder.at - sent;
    t.diagnostic(`SURVEY_REMINDER_SECONDS=${DELAY}: the reminder came ${after} ms after the message`);
    assert.ok(after >= NOT_BEFORE, `the reminder came ${after} ms after the message`);
    assert.ok(after <= DELAY * 1000 + 5000, `the reminder came ${after} ms after the message`);
    assert.deepEqual(sentForm(reminder.form), { To: phone.from, From: TWILIO_NUMBER, Body: REMIND_NAME });
    assert.deepEqual(reminder.auth, { user: ACCOUNT_SID, password: AUTH_TOKEN });
    assert.deepEqual(reminder.problems, []);
    // Not a stream: nothing more after a further wait (a repeat would come at once, or one
    // delay later).
    await sleep(DELAY * 1000);
    assert.equal(api.to(phone.from).length, 1, "exactly one reminder");
    // The reminder is a turn, not a message of the person's: the survey goes on, counted 2.
    const next = await phone.send("Rey");
    assert.equal(next.status, 200, next.text);
    assert.equal(next.reply, `Thanks, Rey. ${ASK_ZIP}`);
    const mine = events(logs, "webhook").filter((l) => l.from === `+14*******${phone.from.slice(-2)}`);
    assert.deepEqual(mine.map((l) => l.count), [1, 2]);
  });

  const answered = t.test("answered in time: the name question's reminder never comes; the next question's does", async () => {
    const phone = phoneOn(w.mf);
    assert.equal((await phone.send("hi")).reply, ASK_NAME);
    await sleep(500);
    const answeredAt = Date.now();
    assert.equal((await phone.send("Rey")).reply, `Thanks, Rey. ${ASK_ZIP}`);
    const zip = await api.waitFor((rs) => rs.find((r) => r.form.To === phone.from), "the ZIP question's reminder", 10_000);
    assert.equal(zip.form.Body, REMIND_ZIP);
    assert.ok(zip.at - answeredAt >= NOT_BEFORE, `the ZIP reminder came ${zip.at - answeredAt} ms after the answer`);
    // The name question's alarm was due before this one: had it survived, it came first.
    await sleep(1000);
    assert.deepEqual(api.to(phone.from).map((r) => r.form.Body), [REMIND_ZIP]);
  });

  await Promise.all([quiet, answered]);
  assertWellFormed(api);
  const followUps = events(logs, "follow_up");
  assert.ok(followUps.every((l) => !l.error), `no follow-up failed: ${JSON.stringify(followUps)}`);
});

test("a Messages API that certainly did not take it: a 429 is tried again after the backoff (10 s, then 20 s); a 400 with code 21610 is dropped, logged with its code, and opts the pair out", async (t) => {
  const api = await messagesApi(t);
  const busy = nextNumber();
  const optedOut = nextNumber();
  api.answer = (req) => {
    if (req.form.To === busy) return twilioError(429, 20429, "Too Many Requests");
    if (req.form.To === optedOut) {
      return twilioError(400, 21610, "Attempt to send to unsubscribed recipient");
    }
    return undefined;
  };
  const logs = captureLogs();
  const w = await start(
    { CONVERSATION: "survey", SURVEY_REMINDER_SECONDS: "1", TWILIO_API_BASE_URL: api.url },
    { logs },
  );
  try {
    for (const from of [busy, optedOut]) {
      assert.equal((await phoneOn(w.mf, from).send("hi")).reply, ASK_NAME);
    }
    const firstBusy = await api.waitFor((rs) => rs.find((r) => r.form.To === busy), "the first try", 5000);
    await api.waitFor((rs) => rs.find((r) => r.form.To === optedOut), "the opted-out person's try", 5000);
    const dropped = await waitFor(
      () => events(logs, "follow_up").find((l) => /dropped/.test(l.error ?? "")),
      "the refused follow-up's log line",
    );
    assert.match(dropped.error, /21610/);
    assert.match(dropped.error, /Attempt to send to unsubscribed recipient/);

    // The 429: tried again RETRY_BASE_SECONDS (10 s) later (whole seconds: 9 s at the least).
    const secondBusy = await api.waitFor(
      (rs) => rs.filter((r) => r.form.To === busy)[1],
      "the second try",
      15_000,
    );
    const gap = secondBusy.at - firstBusy.at;
    t.diagnostic(`after a 429, the second try came ${gap} ms after the first`);
    assert.ok(gap >= 9000 && gap <= 13_000, `the second try came ${gap} ms after the first`);
    assert.equal(secondBusy.form.Body, REMIND_NAME);
    // Each failure is logged with when it is tried next: +10 s, then +20 s (doubling, up to
    // MAX_SEND_ATTEMPTS = 4 tries in all; the third and fourth would take another 60 s).
    const retries = await waitFor(() => {
      const lines = events(logs, "follow_up").filter((l) => /trying again at/.test(l.error ?? ""));
      return lines.length >= 2 && lines;
    }, "two 'trying again' log lines");
    const nextAt = retries.map((l) => Number(/trying again at (\d+)/.exec(l.error)[1]));
    for (const [i, [line, tried, wait]] of [
      [retries[0], firstBusy, 10],
      [retries[1], secondBusy, 20],
    ].entries()) {
      assert.match(line.error, /429/);
      const ahead = nextAt[i] - Math.floor(tried.at / 1000);
      assert.ok(Math.abs(ahead - wait) <= 1, `try ${i + 1}: next at +${ahead} s, not +${wait} s`);
    }
    // The refusal was never tried again (its retry would have come with the 503's).
    assert.equal(api.to(optedOut).length, 1, "a 400 (21610) is not retried");
    assert.equal(events(logs, "follow_up").filter((l) => /21610/.test(l.error ?? "")).length, 1);
    // Twilio said the person opted out: their next text reaches neither the survey nor a reply.
    const after = await phoneOn(w.mf, optedOut).send("Ada");
    assert.equal(after.status, 200, after.text);
    assert.ok(!after.reply, `no reply to an opted-out person: ${after.text}`);
    assert.equal(events(logs, "webhook").at(-1).outcome, "opted_out");
    assertWellFormed(api);
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// 7. POST /conversations.

test("POST /conversations: refusals, a started survey continued by the reply without a cookie, a refused send", async (t) => {
  const api = await messagesApi(t);
  const person = nextNumber();
  const full = {
    CONVERSATION: "survey",
    OUTBOUND_API_KEY: OUTBOUND_KEY,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_API_BASE_URL: api.url,
  };
  const json = { to: person, from: TWILIO_NUMBER };

  await t.test("without OUTBOUND_API_KEY the route does not exist (404), and its answer names what to set", async () => {
    const w = await start({ ...full, OUTBOUND_API_KEY: undefined });
    try {
      const off = await startConversation(w.mf, json);
      assert.equal(off.status, 404);
      assert.match(off.text, /OUTBOUND_API_KEY/);
      assert.equal((await startConversation(w.mf, json, { key: null })).status, 404);
    } finally {
      await w.dispose();
    }
  });

  await t.test("without TWILIO_ACCOUNT_SID: 500 naming it", async () => {
    const w = await start({ ...full, TWILIO_ACCOUNT_SID: undefined });
    try {
      const res = await startConversation(w.mf, json);
      assert.equal(res.status, 500, res.text);
      assert.match(res.text, /TWILIO_ACCOUNT_SID/);
    } finally {
      await w.dispose();
    }
  });

  await t.test("without the objects binding: 503 naming CONVERSATION_OBJECTS", async () => {
    const w = await start(full, { objects: false });
    try {
      const res = await startConversation(w.mf, json);
      assert.equal(res.status, 503, res.text);
      assert.match(res.text, /CONVERSATION_OBJECTS/);
    } finally {
      await w.dispose();
    }
  });

  await t.test("the counter needs a \"body\" (400); with one, it is sent, through an API key", async () => {
    const keyApi = await messagesApi(t, { user: "SK" + "1".repeat(32), password: "api-key-secret-0123456789" });
    const w = await start({
      ...full,
      CONVERSATION: "counter",
      TWILIO_API_BASE_URL: keyApi.url,
      TWILIO_API_KEY_SID: "SK" + "1".repeat(32),
      TWILIO_API_KEY_SECRET: "api-key-secret-0123456789",
    });
    try {
      const res = await startConversation(w.mf, json);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(keyApi.requests, [], "nothing sent");
      const ok = await startConversation(w.mf, { ...json, body: "Hi from us" });
      assert.equal(ok.status, 201, ok.text);
      assert.equal(keyApi.requests.length, 1);
      const [sent] = keyApi.requests;
      assert.deepEqual(sent.problems, []);
      assert.deepEqual(sentForm(sent.form), { To: person, From: TWILIO_NUMBER, Body: "Hi from us" });
      assert.deepEqual(sent.auth, { user: "SK" + "1".repeat(32), password: "api-key-secret-0123456789" });
      assert.equal(ok.body.sid, sent.sid);
    } finally {
      await w.dispose();
    }
  });

  await t.test("refusals before anything is sent: 405, 401, 400", async () => {
    const w = await start(full);
    try {
      const get = await startConversation(w.mf, null, { method: "GET" });
      assert.equal(get.status, 405, get.text);
      assert.equal(get.headers.get("allow"), "POST");
      assert.equal((await startConversation(w.mf, json, { key: null })).status, 401, "no Authorization");
      assert.equal((await startConversation(w.mf, json, { key: "wrong" })).status, 401, "a wrong key");
      assert.equal((await startConversation(w.mf, json, { key: OUTBOUND_KEY.slice(0, -1) })).status, 401, "a prefix of the key");
      const basic = await startConversation(w.mf, json, {
        key: null,
        headers: { authorization: `Basic ${Buffer.from(`x:${OUTBOUND_KEY}`).toString("base64")}` },
      });
      assert.equal(basic.status, 401, "not a bearer token");
      for (const bad of ["{not json", "[1]", "", '"a string"']) {
        const res = await startConversation(w.mf, bad);
        assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      }
      for (const bad of [
        { to: person.slice(1), from: TWILIO_NUMBER },
        { to: person },
        { to: "+1 415 555 0100", from: TWILIO_NUMBER },
        { to: person, from: "15005550006" },
        { to: "+0123456789", from: TWILIO_NUMBER },
        { to: 14155550100, from: TWILIO_NUMBER },
      ]) {
        const res = await startConversation(w.mf, bad);
        assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
        assert.match(res.text, /E\.164/);
      }
      assert.deepEqual(api.requests, [], "nothing was sent for a refused request");
    } finally {
      await w.dispose();
    }
  });

  await t.test("201: the opening question goes out; the person's reply (no cookie) continues the survey", async () => {
    const w = await start(full);
    try {
      const res = await startConversation(w.mf, json);
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get("content-type") ?? "", /json/);
      assert.equal(api.requests.length, 1);
      const [sent] = api.requests;
      assert.deepEqual(sent.problems, []);
      assert.deepEqual(sentForm(sent.form), { To: person, From: TWILIO_NUMBER, Body: ASK_NAME });
      assert.deepEqual(sent.auth, { user: ACCOUNT_SID, password: AUTH_TOKEN });
      assert.equal(res.body.sid, sent.sid);
      // Twilio stores no cookie for a message we sent: the reply comes without one,
      // AccountSid = TWILIO_ACCOUNT_SID, To = the Twilio number, From = the person.
      const phone = phoneOn(w.mf, person);
      const reply = await phone.send("Rey", { cookie: null });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.reply, `Thanks, Rey. ${ASK_ZIP}`);
      assert.equal(reply.headers.get("x-state-source"), "object");
      assert.equal((await phone.send("94105")).reply, "Can we text you updates? Reply Y for yes or N for no.");
    } finally {
      await w.dispose();
    }
  });

  await t.test("a refused send: 502 with Twilio's error, nothing recorded", async () => {
    const refused = nextNumber();
    api.answer = (req) =>
      req.form.To === refused ? twilioError(400, 21211, "Invalid 'To' Phone Number") : undefined;
    const w = await start(full);
    try {
      const res = await startConversation(w.mf, { to: refused, from: TWILIO_NUMBER });
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.code, 21211);
      assert.equal(res.body.twilio_status, 400);
      assert.match(res.body.error, /Invalid 'To' Phone Number/);
      // The person texting now starts the survey from its beginning.
      const phone = phoneOn(w.mf, refused);
      const first = await phone.send("hello", { cookie: null });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.reply, ASK_NAME);
      assert.equal((await phone.send("Kay")).reply, `Thanks, Kay. ${ASK_ZIP}`);
    } finally {
      api.answer = null;
      await w.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------
// 8. An object that cannot be reached: the worker answers from the cookie.

/** A worker whose ConversationObject fails every call (`throw`) or never answers (`hang`). */
function brokenObjects(name, mode) {
  const fetchBody =
    mode === "hang" ? "return new Promise(() => {});" : 'throw new Error("the object is broken (test)");';
  return {
    name,
    modules: true,
    compatibilityDate: "2026-07-01",
    script: `
      export class ConversationObject {
        constructor(state, env) {}
        async fetch(request) { ${fetchBody} }
      }
      export default { fetch() { return new Response("broken objects"); } };
    `,
  };
}

/** The built worker with CONVERSATION_OBJECTS bound to `peer`'s ConversationObject. */
function startWithBrokenObjects(peer, { logs, persist } = {}) {
  return startWorkerWithPeers(
    {},
    {
      durableObjects: {
        CONVERSATION_OBJECTS: { className: "ConversationObject", scriptName: peer.name, useSQLite: true },
      },
    },
    [peer],
    { handleRuntimeStdio: logs.handleRuntimeStdio, ...(persist ? { durableObjectsPersist: persist } : {}) },
  );
}

test("an object that throws: answered from the cookie (200, its next count), logged; the newer copy wins when the object is back", async (t) => {
  const persist = persistDir(t);
  const phone = new Phone(null, WEBHOOK, nextNumber());
  const use = (w) => attach(phone, w);
  let w = await start({}, { persist });
  use(w);
  try {
    assert.equal((await phone.send("one")).reply, expected(1));
    assert.equal((await phone.send("two")).reply, expected(2));
  } finally {
    await w.dispose();
  }
  const logs = captureLogs();
  w = await startWithBrokenObjects(brokenObjects("broken", "throw"), { logs, persist });
  use(w);
  try {
    const res = await phone.send("three");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, expected(3));
    assert.equal(res.headers.get("x-state-source"), "cookie");
    assert.ok(res.setCookie, "the cookie carries the count on");
    assert.equal((await phone.send("four")).reply, expected(4));
    const errors = await waitFor(() => {
      const lines = events(logs, "object");
      return lines.length >= 2 && lines;
    }, "two object error lines");
    for (const line of errors) assert.match(line.error, /the object is broken \(test\)/);
    const webhooks = events(logs, "webhook");
    assert.deepEqual(
      webhooks.map((l) => [l.status, l.source, l.count, /the object is broken/.test(l.object_error ?? "")]),
      [[200, "cookie", 3, true], [200, "cookie", 4, true]],
    );
  } finally {
    await w.dispose();
  }
  // The real objects again: the object holds 2, the cookie 4; the newer copy wins.
  w = await start({}, { persist });
  use(w);
  try {
    const res = await phone.send("five");
    assert.equal(res.reply, expected(5));
    assert.equal(res.headers.get("x-state-source"), "cookie");
    const six = await phone.send("six", { cookie: null });
    assert.equal(six.reply, expected(6), "the object kept the newer copy");
    assert.equal(six.headers.get("x-state-source"), "object");
  } finally {
    await w.dispose();
  }
});

test("an object that never answers: the webhook gets empty TwiML in time, logged as late, and the message is never run a second time from the cookie", async () => {
  const logs = captureLogs();
  const w = await startWithBrokenObjects(brokenObjects("hanging", "hang"), { logs });
  try {
    const phone = phoneOn(w.mf);
    const started = Date.now();
    const res = await phone.send("anyone there?");
    const took = Date.now() - started;
    assert.equal(res.status, 200, res.text);
    // The object may still be at work on it: the worker answers nothing itself.
    assert.equal(res.reply, null, res.text);
    assert.equal(res.setCookie, null, "no state from a second run");
    assert.ok(took >= 9_000 && took < 14_000, `answered after ${took} ms (the 10 s budget, 1 s of grace)`);
    const [line] = await waitFor(() => {
      const lines = events(logs, "webhook").filter((l) => l.outcome === "late");
      return lines.length >= 1 && lines;
    }, "the late line");
    assert.match(line.object_error, /timed out/);
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// 9. Without the binding.

test("without the binding, a survey asking for reminders works as before, sends nothing, and says so once", async (t) => {
  const api = await messagesApi(t);
  const logs = captureLogs();
  const w = await start(
    { CONVERSATION: "survey", SURVEY_REMINDER_SECONDS: "1", TWILIO_API_BASE_URL: api.url },
    { objects: false, logs },
  );
  try {
    const phone = phoneOn(w.mf);
    assert.equal((await phone.send("hi")).reply, ASK_NAME);
    const second = await phone.send("Rey");
    assert.equal(second.reply, `Thanks, Rey. ${ASK_ZIP}`);
    assert.equal(second.headers.get("x-state-source"), "cookie");
    const other = phoneOn(w.mf);
    assert.equal((await other.send("hello")).reply, ASK_NAME);
    // The point is the delay: a reminder (due after 1 s) would have come by now.
    await sleep(3000);
    assert.deepEqual(api.requests, [], "no POST reached the Messages API");
    await waitFor(() => events(logs, "webhook").length >= 3, "three webhook log lines");
    const ignored = events(logs, "follow_up_ignored");
    assert.equal(ignored.length, 1, `follow_up_ignored once per isolate: ${JSON.stringify(ignored)}`);
    assert.match(ignored[0].why, /CONVERSATION_OBJECTS/);
  } finally {
    await w.dispose();
  }
});
