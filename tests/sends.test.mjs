// End to end: what the worker sends itself (follow-ups, POST /conversations), each message
// once, against a stand-in of Twilio's Messages API (tests/helpers/messages-api.mjs) that
// takes a message and then loses its answer in each way (no answer, a 500, a closed
// connection), and posts the message's signed status callbacks to its StatusCallback as
// Twilio does. The BUILT worker in workerd through Miniflare, with the objects bound.
//
// Waits are on conditions; the fixed ones are where nothing may arrive during them.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorker,
  captureLogs,
  Phone,
  ACCOUNT_SID,
  AUTH_TOKEN,
  TWILIO_NUMBER,
  sleep,
  waitFor,
  events,
} from "./helpers/worker.mjs";
import { startMessagesApi } from "./helpers/messages-api.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const START = "http://localhost/conversations";
const OUTBOUND_KEY = "outbound-key-0123456789abcdef";
const ASK_NAME = "Hi! What's your name?";
const ASK_ZIP = "What's your 5-digit ZIP code?";
const OBJECTS = { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } };

let numberSeq = 0;
const nextNumber = () => `+1415556${String(1000 + (numberSeq += 1) * 37).slice(-4)}`;

/** The worker with the objects bound, the survey reminding after 1 s, sending to `api`. */
async function start(t, api, vars = {}) {
  const logs = captureLogs();
  const w = await startWorker(
    {
      CONVERSATION: "survey",
      SURVEY_REMINDER_SECONDS: "1",
      OUTBOUND_API_KEY: OUTBOUND_KEY,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: api.url,
      ...vars,
    },
    { durableObjects: OBJECTS, handleRuntimeStdio: logs.handleRuntimeStdio },
  );
  t.after(() => w.dispose());
  // Twilio's status callbacks reach the worker as any webhook does.
  api.deliver = (url, init) => w.mf.dispatchFetch(url, init);
  return { w, logs };
}

async function messagesApi(t) {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN });
  t.after(() => api.close());
  return api;
}

async function startConversation(mf, json, headers = {}) {
  const res = await mf.dispatchFetch(START, {
    method: "POST",
    headers: { authorization: `Bearer ${OUTBOUND_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(json),
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // A rejection's plain text: the test asserts on `text`.
  }
  return { status: res.status, text, body };
}

test("a reminder Twilio took but whose answer was lost goes out once, confirmed by its status callback", { concurrency: true }, async (t) => {
  const api = await messagesApi(t);
  const lost = new Map(); // person -> how the first answer is lost
  api.answer = (req) => {
    const how = lost.get(req.form.To);
    if (!how) return undefined;
    lost.delete(req.form.To); // only the first try
    return { accept: how };
  };
  const { w, logs } = await start(t, api);
  const cases = [];
  for (const how of ["timeout", "500", "close"]) {
    cases.push(t.test(`accepted, then ${how === "timeout" ? "no answer" : how === "500" ? "a 500" : "the connection closed"}`, async () => {
      const person = nextNumber();
      lost.set(person, how);
      const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
      assert.equal((await phone.send("hi")).reply, ASK_NAME);
      await api.waitFor((rs) => api.taken(person).length === 1, `the reminder taken (${how})`, 10_000);
      const line = await waitFor(
        () => events(logs, "follow_up").find((l) => l.result?.includes(api.taken(person)[0].sid)),
        `the reminder confirmed sent (${how})`,
        20_000,
      );
      t.diagnostic(`${how}: ${line.result}`);
      const lostLine = events(logs, "follow_up").find((l) => /outcome unknown/.test(l.error ?? "") && l.error.includes("follow-up"));
      assert.ok(lostLine, "the log says the outcome was unknown");
      // Nothing more may come: a resend would follow within seconds.
      await sleep(3000);
      assert.equal(api.taken(person).length, 1, `${how}: one reminder reached the person`);
      assert.equal(api.to(person).length, 1, `${how}: one Create Message request`);
      // The conversation goes on.
      assert.equal((await phone.send("Rey")).reply, `Thanks, Rey. ${ASK_ZIP}`);
    }));
  }
  await Promise.all(cases);
});

test("a start Twilio took without answering is 202 pending with its key; the repeat learns its SID; one message", async (t) => {
  const api = await messagesApi(t);
  const person = nextNumber();
  let first = true;
  api.answer = (req) => {
    if (req.form.To !== person || !first) return undefined;
    first = false;
    return { accept: "timeout" };
  };
  const { w } = await start(t, api);
  const json = { to: person, from: TWILIO_NUMBER };
  const pending = await startConversation(w.mf, json, { "idempotency-key": "order-1" });
  assert.equal(pending.status, 202, pending.text);
  assert.equal(pending.body.status, "pending");
  assert.equal(pending.body.idempotency_key, "order-1");
  const done = await waitFor(async () => {
    const again = await startConversation(w.mf, json, { "idempotency-key": "order-1" });
    return again.status === 201 && again;
  }, "the repeat answering 201", 20_000);
  assert.equal(done.body.sid, api.taken(person)[0].sid);
  assert.equal(api.taken(person).length, 1);
  assert.equal(api.to(person).length, 1);
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  assert.equal((await phone.send("Kay")).reply, `Thanks, Kay. ${ASK_ZIP}`);
});

test("two starts at once with one Idempotency-Key send one message and answer alike; another key meets the conversation in progress", async (t) => {
  const api = await messagesApi(t);
  const person = nextNumber();
  const { w } = await start(t, api);
  const json = { to: person, from: TWILIO_NUMBER };
  const [a, b] = await Promise.all([
    startConversation(w.mf, json, { "idempotency-key": "same" }),
    startConversation(w.mf, json, { "idempotency-key": "same" }),
  ]);
  assert.equal(a.status, 201, a.text);
  assert.deepEqual([b.status, b.body], [a.status, a.body]);
  assert.equal(api.taken(person).length, 1);
  const other = await startConversation(w.mf, json, { "idempotency-key": "other" });
  assert.equal(other.status, 409, other.text);
  assert.match(other.body.error, /in progress/);
  const replaced = await startConversation(w.mf, { ...json, replace: true }, { "idempotency-key": "third" });
  assert.equal(replaced.status, 201, replaced.text);
  assert.equal(api.taken(person).length, 2);
});

test("nobody who texted STOP gets anything until START, on SMS and on WhatsApp", { concurrency: true }, async (t) => {
  const api = await messagesApi(t);
  const { w, logs } = await start(t, api);
  const cases = [];
  for (const [from, to] of [
    [nextNumber(), TWILIO_NUMBER],
    [`whatsapp:${nextNumber()}`, `whatsapp:${TWILIO_NUMBER}`],
  ]) {
    cases.push(t.test(from.startsWith("whatsapp:") ? "WhatsApp" : "SMS", async () => {
      const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, from, { to });
      assert.equal((await phone.send("hi")).reply, ASK_NAME);
      const stop = await phone.send("STOP");
      assert.ok(!stop.reply, stop.text);
      // The reminder was due after 1 s: nothing may come.
      await sleep(2500);
      assert.deepEqual(api.to(from), [], "no reminder after STOP");
      const refused = await startConversation(w.mf, { to: from, from: to });
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.body.error, /opted out/);
      const quiet = await phone.send("hello?");
      assert.ok(!quiet.reply, "not answered while opted out");
      const mine = events(logs, "webhook").filter((l) => l.from?.endsWith(from.slice(-2)));
      assert.equal(mine.at(-1).outcome, "opted_out");
      assert.ok(!(await phone.send("START")).reply, "START is Twilio's to confirm");
      assert.equal((await phone.send("Ada")).reply, `Thanks, Ada. ${ASK_ZIP}`);
      const reminder = await api.waitFor((rs) => rs.find((r) => r.form.To === from), "the reminder after START", 10_000);
      assert.equal(reminder.form.Body, `Just checking in: ${ASK_ZIP}`);
    }));
  }
  await Promise.all(cases);
});

test("a start to a WhatsApp number the person never wrote from is refused (422) rather than sent free-form; mixed channels are 400", async (t) => {
  const api = await messagesApi(t);
  const { w } = await start(t, api);
  const person = `whatsapp:${nextNumber()}`;
  const outside = await startConversation(w.mf, { to: person, from: `whatsapp:${TWILIO_NUMBER}` });
  assert.equal(outside.status, 422, outside.text);
  assert.match(outside.body.error, /24 hours/);
  const mixed = await startConversation(w.mf, { to: person, from: TWILIO_NUMBER });
  assert.equal(mixed.status, 400, mixed.text);
  assert.match(mixed.text, /same channel/);
  assert.equal(api.requests.length, 0);
  // With a template configured, the start goes as the template.
  const templated = await start(t, api, { WHATSAPP_TEMPLATE_SID: "HX0123456789abcdef0123456789abcdef" });
  const sent = await startConversation(templated.w.mf, { to: person, from: `whatsapp:${TWILIO_NUMBER}` });
  assert.equal(sent.status, 201, sent.text);
  const [req] = api.requests;
  assert.equal(req.form.ContentSid, "HX0123456789abcdef0123456789abcdef");
  assert.equal(req.form.Body, undefined);
});
