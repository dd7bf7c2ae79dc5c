// End to end: Studio flows (CONVERSATION=studio) in the BUILT worker in workerd through
// Miniflare. The example flows come from flows/*.json as the build bundled them; flows given
// here as the vars `flows/<name>.json` (a var wins over a bundled file) point their HTTP
// widget at a loopback server, or carry what must be refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import {
  startWorker,
  captureLogs,
  Phone,
  ROOT,
  ACCOUNT_SID,
  AUTH_TOKEN,
  newSid,
  waitFor,
} from "./helpers/worker.mjs";
import { startMessagesApi } from "./helpers/messages-api.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const OBJECTS = { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } };
const ASK = "Hi! Reply YES to confirm your next visit, or NO to cancel.";

let numberSeq = 0;
const nextNumber = () => `+1415557${String(1000 + (numberSeq += 1) * 41).slice(-4)}`;

/** Every <Message> of a TwiML answer: its body and media, unescaped. */
function messages(twiml) {
  const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  return [...twiml.matchAll(/<Message>([\s\S]*?)<\/Message>/g)].map(([, inner]) => {
    const body = /<Body>([\s\S]*?)<\/Body>/.exec(inner);
    const media = [...inner.matchAll(/<Media>([\s\S]*?)<\/Media>/g)].map(([, m]) => unescape(m));
    return { body: unescape(body ? body[1] : inner.replace(/<Media>[\s\S]*?<\/Media>/g, "")), media };
  });
}
const texts = (answer) => messages(answer.text).map((m) => m.body);

async function studio(t, vars = {}, options = {}) {
  const w = await startWorker({ CONVERSATION: "studio", STUDIO_FLOW: "appointments", ...vars }, options);
  t.after(() => w.dispose());
  return w;
}

test("an exported flow runs from the bundled flows/, and a retried MessageSid never advances it", async (t) => {
  const w = await studio(t);
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  assert.deepEqual(texts(await phone.send("hello")), [ASK]);
  const sid = newSid();
  const before = phone.cookie;
  const answer = await phone.send("no", { sid });
  assert.deepEqual(texts(answer), ["Cancelled. Text us any time to book again."]);
  // Twilio retries with the cookie it had before (it never got the answer): the same reply,
  // and the execution is not moved on from where the cookie says (no new execution starts).
  const retried = await phone.send("no", { sid, cookie: before });
  assert.deepEqual(texts(retried), texts(answer));
  const again = await phone.send("no", { sid });
  assert.deepEqual(texts(again), texts(answer));
  // A new message is a new step: the execution ended, so a new one starts at the trigger.
  assert.deepEqual(texts(await phone.send("hi")), [ASK]);
});

test("the retry loop, Liquid filters and the limits of the appointments flow", async (t) => {
  const w = await studio(t);
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  await phone.send("hello");
  assert.deepEqual(texts(await phone.send("perhaps on another day")), [
    'Sorry, "perhaps on anothe..." is not YES or NO.',
    ASK,
  ]);
  await phone.send("??");
  assert.deepEqual(texts(await phone.send("what")), [
    "Let's try another way: call us at the front desk to confirm your next visit.",
  ]);
});

test("an unsupported or broken flow is refused when the isolate starts, naming the widget", async (t) => {
  const flow = {
    description: "uses a Function it cannot reach",
    initial_state: "Trigger",
    states: [
      { name: "Trigger", type: "trigger", properties: {}, transitions: [{ event: "incomingMessage", next: "lookup_fn" }] },
      { name: "lookup_fn", type: "run-function", properties: { function_sid: "ZH0123" }, transitions: [{ event: "success" }, { event: "fail" }] },
      { name: "say", type: "send-message", properties: { body: "hi" }, transitions: [{ event: "sent", next: "nowhere" }] },
    ],
  };
  const w = await studio(t, { STUDIO_FLOW: "fn", "flows/fn.json": JSON.stringify(flow) });
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  const answer = await phone.send("hi");
  assert.equal(answer.status, 500);
  assert.match(answer.text, /^misconfigured: STUDIO_FLOW /);
  assert.match(answer.text, /widget "lookup_fn": run-function with no URL: map its function_sid ZH0123 in STUDIO_FUNCTIONS/);
  assert.match(answer.text, /widget "say": its "sent" transition goes to "nowhere"/);

  const missing = await studio(t, { STUDIO_FLOW: "not-there" });
  const refused = await new Phone((url, init) => missing.mf.dispatchFetch(url, init), WEBHOOK, nextNumber()).send("hi");
  assert.equal(refused.status, 500);
  assert.match(refused.text, /STUDIO_FLOW flows\/not-there\.json: no such file/);
});

test("the HTTP widget calls the endpoint with Studio's timeout and reads its JSON", async (t) => {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body, type: req.headers["content-type"], key: req.headers["idempotency-key"] });
      if (req.url.startsWith("/orders/12345")) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "12345", status: "SHIPPED", photo: "https://img.example/box.jpg" }));
      } else {
        res.writeHead(404, { "content-type": "application/json" });
        res.end("{}");
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address().port}`;
  // The example flow, its URL pointed at the loopback server.
  const orders = fs.readFileSync(path.join(ROOT, "flows/orders.json"), "utf8").replace("https://orders.example.com", base);
  const w = await studio(t, { STUDIO_FLOW: "orders", "flows/orders.json": orders });
  const person = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  assert.deepEqual(texts(await phone.send("hi")), ["Hi! What's your order number?"]);
  const found = await phone.send("12345");
  assert.deepEqual(messages(found.text), [
    { body: "Order 12345 is shipped.", media: ["https://img.example/box.jpg"] },
    { body: "How would you rate your order 12345, from 1 to 5?", media: [] },
  ]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].method, "GET");
  assert.equal(seen[0].url, `/orders/12345?phone=${encodeURIComponent(person)}`);
  assert.deepEqual(texts(await phone.send("4")), ["Thanks for the 4 stars!"]);
  assert.deepEqual(texts(await phone.send("hello")), ["Hi! What's your order number?"]);
  assert.deepEqual(texts(await phone.send("55555")), ["No order 55555 for this number (404). Text again to retry."]);
});

test("with the objects bound, the wait's timeout is an alarm and its message goes through the Messages API", async (t) => {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN });
  t.after(() => api.close());
  const flow = JSON.parse(fs.readFileSync(path.join(ROOT, "flows/appointments.json"), "utf8"));
  flow.states.find((s) => s.name === "ask").properties.timeout = "2";
  const logs = captureLogs();
  const w = await studio(
    t,
    {
      "flows/appointments.json": JSON.stringify(flow),
      OUTBOUND_API_KEY: "outbound-key-0123456789abcdef",
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_API_BASE_URL: api.url,
    },
    { durableObjects: OBJECTS, handleRuntimeStdio: logs.handleRuntimeStdio },
  );
  api.deliver = (url, init) => w.mf.dispatchFetch(url, init);
  const quiet = nextNumber();
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, quiet);
  assert.deepEqual(texts(await phone.send("hello")), [ASK]);
  await api.waitFor(() => api.taken(quiet).length === 1, "the timeout's message", 20_000);
  assert.equal(api.taken(quiet)[0].body, "We did not hear back, so your next visit stays unconfirmed. Reply any time.");
  // The execution ended with the timeout: the next text starts a new one.
  await waitFor(async () => true, "settle");
  assert.deepEqual(texts(await phone.send("yes")), [ASK]);

  // Started with POST /conversations: flow.data from `parameters`, sent by the Messages API.
  const person = nextNumber();
  const res = await w.mf.dispatchFetch("http://localhost/conversations", {
    method: "POST",
    headers: { authorization: "Bearer outbound-key-0123456789abcdef", "content-type": "application/json" },
    body: JSON.stringify({ to: person, from: "+15005550006", parameters: { name: "Ada", when: "Tuesday at 3pm" } }),
  });
  assert.equal(res.status, 201, await res.text());
  await api.waitFor(() => api.taken(person).length === 1, "the opening", 10_000);
  assert.equal(api.taken(person)[0].body, "Hi Ada! Reply YES to confirm Tuesday at 3pm, or NO to cancel.");
  const started = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  assert.deepEqual(texts(await started.send("YES")), ["Confirmed: see you Tuesday at 3pm."]);
});

test("a start over an ended execution runs with its own flow.data; over a waiting one it is refused", async (t) => {
  const api = await startMessagesApi({ accountSid: ACCOUNT_SID, password: AUTH_TOKEN });
  t.after(() => api.close());
  const w = await studio(
    t,
    { OUTBOUND_API_KEY: "outbound-key-0123456789abcdef", TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_API_BASE_URL: api.url },
    { durableObjects: OBJECTS },
  );
  api.deliver = (url, init) => w.mf.dispatchFetch(url, init);
  const person = nextNumber();
  const start = (body) =>
    w.mf.dispatchFetch("http://localhost/conversations", {
      method: "POST",
      headers: { authorization: "Bearer outbound-key-0123456789abcdef", "content-type": "application/json" },
      body: JSON.stringify({ to: person, from: "+15005550006", ...body }),
    });
  let res = await start({ parameters: { name: "Ada", when: "Tuesday at 3pm" } });
  assert.equal(res.status, 201, await res.text());
  await api.waitFor(() => api.taken(person).length === 1, "the first opening", 10_000);
  // The first execution waits for the answer: a second start is refused.
  res = await start({ parameters: { name: "Bob" } });
  assert.equal(res.status, 409);
  assert.match(await res.text(), /in progress/);
  // The answer ends the first execution; the second start then runs, with its own flow.data.
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, person);
  assert.deepEqual(texts(await phone.send("YES")), ["Confirmed: see you Tuesday at 3pm."]);
  res = await start({ parameters: { name: "Bob" } });
  assert.equal(res.status, 201, await res.text());
  await api.waitFor(() => api.taken(person).length === 2, "the second opening", 10_000);
  assert.equal(api.taken(person)[1].body, "Hi Bob! Reply YES to confirm your next visit, or NO to cancel.");
  assert.deepEqual(texts(await phone.send("no")), ["Cancelled. Text us any time to book again."]);
});

test("a split tests its input, and Liquid's date prints the current time for \"now\"", async (t) => {
  const flow = {
    description: "its conditions' arguments carry the pattern, as some exports do",
    initial_state: "Trigger",
    states: [
      { name: "Trigger", type: "trigger", properties: {}, transitions: [{ event: "incomingMessage", next: "split" }] },
      {
        name: "split",
        type: "split-based-on",
        properties: { input: "{{trigger.message.Body}}" },
        transitions: [
          { event: "noMatch", next: "other" },
          { event: "match", next: "clock", conditions: [{ friendly_name: "time", arguments: ["time"], type: "equal_to", value: "time" }] },
          { event: "match", next: "other", conditions: [{ friendly_name: "else", arguments: ["else"], type: "equal_to", value: "else" }] },
        ],
      },
      { name: "clock", type: "send-message", properties: { body: "{{ 'now' | date: '%Y-%m-%d' }}" }, transitions: [{ event: "sent" }] },
      { name: "other", type: "send-message", properties: { body: "Text TIME." }, transitions: [{ event: "sent" }] },
    ],
  };
  const w = await studio(t, { STUDIO_FLOW: "clock", "flows/clock.json": JSON.stringify(flow) });
  const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, nextNumber());
  const before = new Date().toISOString().slice(0, 10);
  const [said] = texts(await phone.send("time"));
  const after = new Date().toISOString().slice(0, 10);
  assert.ok(said === before || said === after, said);
  assert.deepEqual(texts(await phone.send("else")), ["Text TIME."]);
  assert.deepEqual(texts(await phone.send("anything")), ["Text TIME."]);
});
