// End to end: replies that outlast REPLY_BUDGET_SECONDS, with the objects bound. A Studio
// flow's HTTP widget calls a loopback service that answers slowly; the webhook must answer
// 200 before Twilio stops waiting (15 s), the service is called once per message, and the
// reply reaches the person exactly once: in the TwiML or through the Messages API stand-in,
// never both and never neither. The BUILT worker in workerd.
//
// A code conversation's own `ctx.fetch` of 25 s is not here: this repository's worker calls
// out during a turn only from Studio's widget, which stops waiting at 10 s as Twilio's does
// (the 25 s service below), and the survey posts its results after the reply. The native
// tests (src/tests/late_tests.rs) run a conversation whose call takes 25 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, captureLogs, Phone, ACCOUNT_SID, AUTH_TOKEN, EMPTY_TWIML, TWILIO_NUMBER, newSid, sleep, waitFor, events } from "./helpers/worker.mjs";
import { startMessagesApi } from "./helpers/messages-api.mjs";
import { CRM, SAY, TRIGGER, TWILIO_WAITS_MS, slowService } from "./helpers/slow.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const OUTBOUND_KEY = "outbound-key-0123456789abcdef";
const OBJECTS = { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } };
let numberSeq = 0;
const nextNumber = () => `+1415558${String(1000 + (numberSeq += 1) * 43).slice(-4)}`;

/** A flow that looks the person up and says who they are ("sorry" when the lookup fails). */
function lookupFlow(url) {
  const states = [TRIGGER("crm"), CRM(url, "say"), SAY("say", "found {{widgets.crm.parsed.name}}"), SAY("sorry", "sorry")];
  return JSON.stringify({ description: "late", initial_state: "Trigger", states });
}

/** A flow that looks the person up, asks for an order number and notes it: its second text
 * means something only against the state the first left. */
function orderFlow(url, { started } = {}) {
  const ask = {
    name: "ask", type: "send-and-wait-for-reply",
    properties: { body: "found {{widgets.crm.parsed.name}}, your order?", timeout: "3600" },
    transitions: [{ event: "incomingMessage", next: "noted" }, { event: "timeout" }, { event: "deliveryFailure" }],
  };
  const states = [TRIGGER("crm", started), CRM(url, "ask"), ask, SAY("noted", "order {{widgets.ask.inbound.Body}} noted"), SAY("sorry", "sorry")];
  return JSON.stringify({ description: "late", initial_state: "Trigger", states });
}

async function start(t, flowJson, vars = {}) {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN });
  t.after(() => api.close());
  const logs = captureLogs();
  const w = await startWorker(
    {
      CONVERSATION: "studio",
      STUDIO_FLOW: "late",
      "flows/late.json": flowJson,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: api.url,
      OUTBOUND_API_KEY: OUTBOUND_KEY,
      ...vars,
    },
    { durableObjects: OBJECTS, handleRuntimeStdio: logs.handleRuntimeStdio },
  );
  t.after(() => w.dispose());
  api.deliver = (url, init) => w.mf.dispatchFetch(url, init);
  return { w, api, logs };
}

/** Sends `body` as Twilio does and times the answer. */
async function timed(phone, body, options) {
  const began = Date.now();
  const answer = await phone.send(body, options);
  return { ...answer, took: Date.now() - began };
}

/** Every message the person got for one answer: its TwiML's, and the Messages API's. */
function received(answer, api, person) {
  return [...(answer.reply === null ? [] : [answer.reply]), ...api.taken(person).map((m) => m.body)];
}

/** One message to a slow widget: answered 200 in time, the service called once, the reply
 * received once; then Twilio's retry of the same request changes nothing. */
async function slowWidget(t, { delayMs, expected }) {
  const service = await slowService(t, delayMs);
  const { w, api, logs } = await start(t, lookupFlow(service.url));
  const person = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  const sid = newSid();
  const answer = await timed(phone, "hi", { sid, cookie: null });
  assert.equal(answer.status, 200);
  assert.ok(answer.took < TWILIO_WAITS_MS - 500, `answered after ${answer.took} ms`);
  // A late reply leaves the object once the turn ends (the widget's answer or its 10 s).
  const settled = Math.max(0, Math.min(delayMs, 10_000) - answer.took) + 3_000;
  await waitFor(() => received(answer, api, person).length >= 1, "the reply", settled);
  await sleep(1000);
  assert.deepEqual(received(answer, api, person), [expected]);
  // Twilio's retry: the same signed request, without the cookie it never got.
  const again = await timed(phone, "hi", { sid, cookie: null });
  assert.equal(again.status, 200);
  await sleep(1000);
  assert.equal(service.calls, 1);
  assert.deepEqual(received(answer, api, person), [expected], "nothing sent again");
  if (answer.text === EMPTY_TWIML) {
    assert.equal(again.text, EMPTY_TWIML, "a retry of a late reply never gets it in its TwiML");
    const lines = events(logs, "webhook").filter((l) => l.from && l.outcome);
    assert.ok(lines.some((l) => l.outcome === "late"), JSON.stringify(lines));
    assert.equal(events(logs, "late_reply").length, 1);
  } else {
    assert.equal(again.reply, expected, "a retry of a reply in time gets the same TwiML");
  }
  return answer;
}

test("a widget answering after 9 s: the reply in the TwiML, in time, once", async (t) => {
  const answer = await slowWidget(t, { delayMs: 9_000, expected: "found Ada" });
  assert.equal(answer.reply, "found Ada");
});

test("a widget answering after 12 s: Studio stops waiting at 10 s, the webhook is answered in time, \"sorry\" reaches the person once", async (t) => {
  await slowWidget(t, { delayMs: 12_000, expected: "sorry" });
});

test("a widget answering after 25 s: the same, and a retry while the turn runs gets empty TwiML at once", async (t) => {
  const service = await slowService(t, 25_000);
  const { w, api } = await start(t, lookupFlow(service.url));
  const person = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  const sid = newSid();
  const first = timed(phone, "hi", { sid, cookie: null });
  await sleep(2_000);
  const retry = await timed(phone, "hi", { sid, cookie: null });
  assert.equal(retry.text, EMPTY_TWIML);
  assert.ok(retry.took < 2_000, `the retry waited ${retry.took} ms`);
  const answer = await first;
  assert.equal(answer.status, 200);
  assert.equal(answer.text, EMPTY_TWIML, "the retry sent the reply late");
  assert.ok(answer.took < TWILIO_WAITS_MS - 500, `answered after ${answer.took} ms`);
  await waitFor(() => api.taken(person).length >= 1, "the late reply", 5_000);
  await sleep(1000);
  assert.deepEqual(received(answer, api, person), ["sorry"]);
  assert.equal(service.calls, 1);
});

test("a text sent while the object's turn is slow is answered in turn, once, against the state that turn left", async (t) => {
  const service = await slowService(t, 7_000);
  const { w, api } = await start(t, orderFlow(service.url), { REPLY_BUDGET_SECONDS: "5" });
  const person = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  const first = timed(phone, "hi");
  await sleep(1_000);
  const second = await timed(phone, "42");
  assert.equal(second.status, 200);
  assert.ok(second.took < 6_500, `answered after ${second.took} ms`);
  const answer = await first;
  assert.equal(answer.status, 200);
  assert.ok(answer.took < 6_500, `answered after ${answer.took} ms`);
  // Both went late: the first outlasted its 5 s, the second waited for it past its own.
  assert.equal(answer.text, EMPTY_TWIML);
  assert.equal(second.text, EMPTY_TWIML);
  await waitFor(() => api.taken(person).length >= 2, "both late replies", 15_000);
  await sleep(1000);
  // In turn, each once: the question went out before the answer to it.
  assert.deepEqual(api.taken(person).map((m) => m.body), ["found Ada, your order?", "order 42 noted"]);
  assert.equal(service.calls, 1);
});

test("a text sent while a started conversation's first turn is slow is answered after it, against the state it left", async (t) => {
  const service = await slowService(t, 5_000);
  const { w, api } = await start(t, orderFlow(service.url, { started: "crm" }));
  const person = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  const started = w.mf.dispatchFetch("http://localhost/conversations", {
    method: "POST",
    headers: { authorization: `Bearer ${OUTBOUND_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ to: person, from: TWILIO_NUMBER }),
  });
  await sleep(1_000);
  const answer = await timed(phone, "42");
  const res = await started;
  const said = await res.text();
  assert.equal(res.status, 201, said);
  assert.equal(answer.status, 200);
  assert.ok(answer.took >= 3_000, `answered after ${answer.took} ms, before the start ended`);
  // The question went out from the start, then the text was answered as the reply to it.
  assert.deepEqual(api.taken(person).map((m) => m.body), ["found Ada, your order?"]);
  assert.equal(answer.reply, "order 42 noted");
  assert.equal(service.calls, 1);
});
