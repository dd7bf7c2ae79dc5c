// End to end: a state too large to keep (issue #26), in the BUILT worker in workerd through
// Miniflare. The orders Studio flow keeps its HTTP widget's answer in the execution, so a
// loopback server answering a large order makes a large state. No state is ever written
// that cannot be read back: a store that can hold it keeps it (the state API and the next
// text read it), or the log line says `state_too_large` and the next text goes on from the
// last state kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { startWorker, captureLogs, events, Phone, ROOT, ACCOUNT_SID, TWILIO_NUMBER, waitFor } from "./helpers/worker.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const ADMIN = "admin-key-e2e-0123456789abcdef-0123456789";
const ASK_ORDER = "Hi! What's your order number?";
const NOT_A_NUMBER = "An order number is 4 to 8 digits, like 12345.";
const RATE = "How would you rate your order 12345, from 1 to 5?";
const THANKS = "Thanks for the 4 stars!";
const BINDINGS = {
  cookie: {},
  KV: { kvNamespaces: ["CONVERSATIONS"] },
  objects: { durableObjects: { CONVERSATION_OBJECTS: { className: "ConversationObject", useSQLite: true } } },
};

let seq = 0;
const nextNumber = () => `+1415558${String(1000 + (seq += 1) * 59).slice(-4)}`;
const unescape = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
/** The text of each <Message> of a TwiML answer. */
const texts = (answer) =>
  [...answer.text.matchAll(/<Message>(?:<Body>([\s\S]*?)<\/Body>[\s\S]*?|([^<]*))<\/Message>/g)].map((m) => unescape(m[1] ?? m[2]));

/** A loopback order API whose order 12345 carries `noteBytes` bytes of notes. */
async function orderApi(t, noteBytes) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "12345", status: "SHIPPED", notes: "n".repeat(noteBytes) }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  return `http://127.0.0.1:${server.address().port}`;
}

/** The orders flow against an order of `noteBytes` bytes, with `bound` stores and the logs. */
async function ordersWorker(t, bound, noteBytes) {
  const base = await orderApi(t, noteBytes);
  const orders = fs.readFileSync(path.join(ROOT, "flows/orders.json"), "utf8").replace("https://orders.example.com", base);
  const logs = captureLogs();
  const vars = { CONVERSATION: "studio", STUDIO_FLOW: "orders", "flows/orders.json": orders };
  Object.assign(vars, { ADMIN_API_KEY: ADMIN, TWILIO_ACCOUNT_SID: ACCOUNT_SID });
  const w = await startWorker(vars, { ...BINDINGS[bound], handleRuntimeStdio: logs.handleRuntimeStdio });
  t.after(() => w.dispose());
  return { w, logs };
}

async function stateOf(mf, from) {
  const url = `http://localhost/conversations/state?${new URLSearchParams({ from, to: TWILIO_NUMBER })}`;
  const res = await mf.dispatchFetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await res.text();
  return { status: res.status, text };
}

/** The webhook log lines noting `state_too_large`. */
const tooLarge = (logs) => events(logs, "webhook").filter((e) => e.notes?.state_too_large);

// A 6 KB state outgrows the cookie alone; 1.5 MB outgrows what any store reads back (1 MiB).
const CASES = [
  { bound: "cookie", noteBytes: 6_000, kept: false, limit: "the cookie's limit of 4096" },
  { bound: "KV", noteBytes: 6_000, kept: true },
  { bound: "objects", noteBytes: 6_000, kept: true },
  { bound: "KV", noteBytes: 1_500_000, kept: false, limit: "the kv's limit of 1048576" },
  { bound: "objects", noteBytes: 1_500_000, kept: false, limit: "the object's limit of 1048576" },
];

for (const { bound, noteBytes, kept, limit } of CASES) {
  const what = kept ? "kept where it fits and read back" : "refused and logged; the next text goes on from the last state kept";
  test(`with ${bound} bound, a state holding a ${noteBytes}-byte answer is ${what}`, async (t) => {
    const { w, logs } = await ordersWorker(t, bound, noteBytes);
    const from = nextNumber();
    const phone = new Phone((url, init) => w.mf.dispatchFetch(url, init), WEBHOOK, from);
    assert.deepEqual(texts(await phone.send("hi")), [ASK_ORDER]);
    if (bound === "KV") await waitFor(async () => (await stateOf(w.mf, from)).status === 200, "the first state in KV");
    const before = phone.cookie;
    const found = await phone.send("12345");
    assert.equal(found.status, 200);
    // The person gets the turn's reply either way.
    assert.deepEqual(texts(found), ["Order 12345 is shipped.", RATE]);
    if (kept) {
      assert.deepEqual(tooLarge(logs), []);
      if (bound === "KV") {
        const kv = await w.mf.getKVNamespace("CONVERSATIONS");
        await waitFor(async () => (await kv.list({ prefix: "spill:" })).keys.length === 1, "the spilled state");
      }
      const state = await stateOf(w.mf, from);
      assert.equal(state.status, 200, state.text);
      assert.ok(state.text.includes("n".repeat(noteBytes)), "the state API reads the whole answer back");
      assert.deepEqual(texts(await phone.send("4")), [THANKS]);
      return;
    }
    assert.equal(found.setCookie, null, "no Set-Cookie: Twilio keeps the cookie it has");
    assert.equal(phone.cookie, before);
    const [line] = tooLarge(logs);
    assert.ok(line, logs.text());
    const size = Number(line.notes.state_too_large.split(" ")[0]);
    assert.ok(line.notes.state_too_large.endsWith(`bytes, over ${limit}`), line.notes.state_too_large);
    assert.ok(size > (bound === "cookie" ? 4096 : 1 << 20), line.notes.state_too_large);
    assert.ok(!logs.text().includes("n".repeat(64)), "the log holds no state");
    if (bound !== "cookie") {
      // What the store keeps is the state before, readable.
      const state = await stateOf(w.mf, from);
      assert.equal(state.status, 200, state.text);
      assert.ok(!state.text.includes("nnnn"), "the refused state is nowhere");
    }
    // The last state kept waits at the order number: "4" is not one.
    assert.deepEqual(texts(await phone.send("4")), [NOT_A_NUMBER, ASK_ORDER]);
    await waitFor(() => events(logs, "webhook").length >= 3, "the third log line");
  });
}
