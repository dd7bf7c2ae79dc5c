// End to end: replies that outlast REPLY_BUDGET_SECONDS with Workers KV alone (no objects),
// the Messages API's credentials set. A Studio flow's HTTP widget calls a loopback service
// that answers slowly: the webhook answers 200 with empty TwiML before Twilio stops waiting
// (15 s), the turn goes on in `waitUntil`, its record goes to KV and its reply to the person
// through the Messages API stand-in, once; the next text continues from the state it left.
// The BUILT worker in workerd.
//
// Studio's widget stops waiting at 10 s as Twilio's does, so a service answering after 25 s
// ends the turn as one answering after 12 s: the budgets below are lowered instead, so that
// the file stays short. The native tests (src/tests/late_tests.rs, `kv_alone`) run a
// conversation whose own call takes 25 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, captureLogs, Phone, ACCOUNT_SID, AUTH_TOKEN, EMPTY_TWIML, newSid, sleep, waitFor, events } from "./helpers/worker.mjs";
import { startMessagesApi } from "./helpers/messages-api.mjs";
import { CRM, SAY, TRIGGER, TWILIO_WAITS_MS, slowService } from "./helpers/slow.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const KV = { kvNamespaces: ["CONVERSATIONS"] };
let numberSeq = 0;
const nextNumber = () => `+1415557${String(1000 + (numberSeq += 1) * 37).slice(-4)}`;

/** A flow that looks the person up, asks for an order number and notes it ("sorry" when the
 * lookup fails): its second text means something only against the state the first left. */
function orderFlow(url) {
  const ask = {
    name: "ask", type: "send-and-wait-for-reply",
    properties: { body: "found {{widgets.crm.parsed.name}}, your order?", timeout: "3600" },
    transitions: [{ event: "incomingMessage", next: "noted" }, { event: "timeout" }, { event: "deliveryFailure" }],
  };
  const states = [TRIGGER("crm"), CRM(url, "ask"), ask, SAY("noted", "order {{widgets.ask.inbound.Body}} noted"), SAY("sorry", "sorry")];
  return JSON.stringify({ description: "late", initial_state: "Trigger", states });
}

async function start(t, url, vars) {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN });
  t.after(() => api.close());
  const logs = captureLogs();
  const w = await startWorker(
    { CONVERSATION: "studio", STUDIO_FLOW: "late", "flows/late.json": orderFlow(url), TWILIO_API_BASE_URL: api.url, ...vars },
    { ...KV, handleRuntimeStdio: logs.handleRuntimeStdio },
  );
  t.after(() => w.dispose());
  const phone = new Phone((u, init) => w.mf.dispatchFetch(u, init), WEBHOOK, nextNumber());
  return { api, logs, phone };
}

/** Sends `body` as Twilio does and times the answer. */
async function timed(phone, body, options) {
  const began = Date.now();
  const answer = await phone.send(body, options);
  return { ...answer, took: Date.now() - began };
}

test("a widget answering after 12 s: empty TwiML in time, the reply once through the Messages API, retries change nothing", async (t) => {
  const service = await slowService(t, 12_000);
  const { api, logs, phone } = await start(t, service.url, { REPLY_BUDGET_SECONDS: "8" });
  const sid = newSid();
  const first = timed(phone, "hi", { sid, cookie: null });
  await sleep(1_500);
  // Twilio's retry while the turn runs: empty TwiML at once, never a second run.
  const during = await timed(phone, "hi", { sid, cookie: null });
  assert.equal(during.text, EMPTY_TWIML);
  assert.ok(during.took < 1_500, `the retry waited ${during.took} ms`);
  const answer = await first;
  assert.equal(answer.status, 200);
  assert.equal(answer.text, EMPTY_TWIML);
  assert.ok(answer.took < TWILIO_WAITS_MS - 500, `answered after ${answer.took} ms`);
  assert.match(answer.setCookie ?? "", /^sms_state=/, "the early answer's cookie points at KV");
  // The widget gives up at 10 s: its failure branch goes out late.
  await waitFor(() => api.taken(phone.from).length >= 1, "the late reply", 6_000);
  const after = await timed(phone, "hi", { sid, cookie: null });
  assert.equal(after.text, EMPTY_TWIML, "a retry of a late reply never gets it in its TwiML");
  await sleep(500);
  assert.deepEqual(api.taken(phone.from).map((m) => m.body), ["sorry"]);
  assert.equal(service.calls, 1);
  const late = events(logs, "late_reply");
  assert.equal(late.length, 1, logs.text());
  assert.deepEqual(late[0].segments.map((s) => s.count), [1]);
  assert.ok(!JSON.stringify(late[0]).includes("sorry"), "no body in the log");
  assert.ok(events(logs, "webhook").some((l) => l.outcome === "late"), logs.text());
});

test("the next text continues from the state the late turn kept in KV", async (t) => {
  const service = await slowService(t, 7_000);
  const { api, phone } = await start(t, service.url, { REPLY_BUDGET_SECONDS: "5" });
  const answer = await timed(phone, "hi");
  assert.equal(answer.text, EMPTY_TWIML);
  assert.ok(answer.took < 6_500, `answered after ${answer.took} ms`);
  await waitFor(() => api.taken(phone.from).length >= 1, "the late reply", 6_000);
  assert.deepEqual(api.taken(phone.from).map((m) => m.body), ["found Ada, your order?"]);
  const next = await timed(phone, "42");
  assert.equal(next.reply, "order 42 noted");
  assert.equal(next.headers.get("x-state-source"), "kv");
  assert.equal(service.calls, 1);
  assert.equal(api.taken(phone.from).length, 1, "the answer in time is in the TwiML only");
});
