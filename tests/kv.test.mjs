// End-to-end: the Workers KV fallback (binding CONVERSATIONS) of the built worker, in
// workerd through Miniflare, driven like Twilio (signed requests, one cookie jar per pair).
//
// KV writes happen after the reply (ctx.waitUntil), so every test that looks into the
// namespace, or relies on what the previous message wrote, polls until the write landed,
// as the seconds between two real text messages would allow.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorker,
  startWorkerWithPeers,
  captureLogs,
  Phone,
  newSid,
  openSealed,
  TWILIO_NUMBER,
  RESET_REPLY,
  EMPTY_TWIML,
  sleep,
  waitFor,
} from "./helpers/worker.mjs";

// Miniflare would otherwise fetch request.cf data from the internet at start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const KV = { kvNamespaces: ["CONVERSATIONS"] };
const NEW = "Hello, thanks for the new message.";
const expected = (n) => (n === 1 ? NEW : `Hello, thanks for message number ${n}`);

let numberSeq = 0;
/** A distinct sender per conversation, so no two tests share a pair. */
const nextNumber = () => `+1415555${String(1000 + (numberSeq += 1) * 37).slice(-4)}`;

const phoneOn = (mf, from = nextNumber()) =>
  new Phone((url, init) => mf.dispatchFetch(url, init), WEBHOOK, from);

/** A 1,600-character text (Twilio's maximum), distinct per message, not only ASCII. */
function longBody(i) {
  const head = `Message ${i}: `;
  const filler = "Lorem ipsum dolor sit amet — ünïcödé ß ";
  return (head + filler.repeat(60)).slice(0, 1600);
}



async function keysOf(kv, prefix = "") {
  return (await kv.list({ prefix })).keys.map((k) => k.name);
}

/** The cookie value (`sms_state=<value>` → `<value>`). */
const cookieValue = (setCookie) => /^sms_state=([^;]*)/.exec(setCookie)[1];

/**
 * The payload of a sealed value of `phone`'s pair, decrypted if need be and decoded:
 * `{ expiresAt, state }` for a record, `{ expiresAt, key, summary }` for a pointer.
 */
function sealedPayload(sealed, phone) {
  const parts = sealed.split(".");
  assert.equal(parts.length, 4, `a sealed value has 4 parts: ${sealed.slice(0, 40)}…`);
  return openSealed(sealed, { from: phone.from });
}

/** What a pointer cookie (`2p…`) holds: `{ expiresAt, key, summary }`, `key` its KV key. */
function pointerOf(setCookie, phone) {
  const value = cookieValue(setCookie);
  assert.match(value, /^2p[se]\./, "a pointer cookie");
  return sealedPayload(value, phone);
}

/** Sends `body`, then waits until the message's KV writes are visible. */
async function sendAndSettle(phone, kv, body, opts) {
  const before = new Map();
  for (const key of await keysOf(kv, "pair:")) before.set(key, await kv.get(key));
  const res = await phone.send(body, opts);
  if (res.setCookie && /^sms_state=2p[se]\./.test(res.setCookie)) {
    const { key } = pointerOf(res.setCookie, phone);
    await waitFor(async () => (await kv.get(key)) !== null, `spilled state ${key}`);
  }
  // Every counted message rewrites the pair's entry (a fresh seal, so a new value).
  await waitFor(async () => {
    for (const key of await keysOf(kv, "pair:")) {
      if (before.get(key) !== (await kv.get(key))) return true;
    }
    return false;
  }, "the pair's KV entry to be written");
  return res;
}

function assertCookieFits(res, n) {
  assert.ok(res.setCookie, `message ${n}: a Set-Cookie`);
  const bytes = Buffer.byteLength(res.setCookie);
  assert.ok(bytes < 4096, `message ${n}: Set-Cookie of ${bytes} bytes`);
  assert.match(res.setCookie, /; Max-Age=14400/);
}

test("without KV, twelve 1,600-character messages: cookie under 4096 bytes, count exact", async () => {
  const w = await startWorker();
  try {
    const phone = phoneOn(w.mf);
    for (let n = 1; n <= 12; n++) {
      const res = await phone.send(longBody(n));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.reply, expected(n));
      assertCookieFits(res, n);
      assert.match(res.setCookie, /^sms_state=2ce\./, "no KV: the state itself, encrypted");
    }
    // Even texts whose single turn cannot fit a cookie (1,600 three-byte characters).
    const wide = phoneOn(w.mf);
    for (let n = 1; n <= 3; n++) {
      const res = await wide.send("€".repeat(1600));
      assert.equal(res.reply, expected(n));
      assertCookieFits(res, n);
    }
  } finally {
    await w.dispose();
  }
});

test("without KV, the history is trimmed to the newest turns that fit the cookie", async () => {
  const w = await startWorker({ ENCRYPT_STATE: "false" });
  try {
    const phone = phoneOn(w.mf);
    let last;
    for (let n = 1; n <= 12; n++) {
      last = await phone.send(longBody(n));
      assert.equal(last.reply, expected(n));
      assertCookieFits(last, n);
    }
    const { state } = sealedPayload(cookieValue(last.setCookie), phone);
    assert.equal(state.count, 12, "the count survives trimming");
    assert.ok(state.turns.length >= 1 && state.turns.length < 12, `${state.turns.length} turns kept`);
    assert.equal(state.turns.at(-1).inbound, longBody(12), "the newest turn is kept");
    assert.deepEqual(state.turns.at(-1).reply, [expected(12)]);
  } finally {
    await w.dispose();
  }
});

test("with KV, twelve 1,600-character messages spill to KV behind a small pointer cookie", async () => {
  const w = await startWorker({ HISTORY_TURNS: "10" }, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    let last;
    for (let n = 1; n <= 12; n++) {
      const sid = newSid();
      last = await sendAndSettle(phone, kv, longBody(n), { sid });
      assert.equal(last.status, 200, last.text);
      assert.equal(last.reply, expected(n));
      assertCookieFits(last, n);
      if (n >= 2) {
        // Two 1,600-character turns cannot fit 4096 bytes: the state moved to KV.
        const { summary } = pointerOf(last.setCookie, phone);
        assert.equal(summary.count, n, "the pointer's summary keeps the exact count");
        assert.equal(summary.lastMessageSid, sid, "and the last MessageSid, for retries");
        assert.deepEqual(summary.turns, [], "the pointer carries no turns");
        assert.deepEqual(summary.memory, {}, "nor memory");
      }
    }
    const keys = await keysOf(kv);
    assert.ok(keys.some((k) => k.startsWith("spill:")), `spill: keys in ${keys}`);
    assert.equal(keys.filter((k) => k.startsWith("pair:")).length, 1, `one pair: key in ${keys}`);
    const digits = [phone.from.slice(2), phone.from.slice(-7), TWILIO_NUMBER.slice(2), TWILIO_NUMBER.slice(-7)];
    for (const key of keys) {
      for (const d of digits) assert.ok(!key.includes(d), `KV key ${key} contains ${d}`);
    }
    // The spilled state holds history a cookie could not, encrypted by default.
    const spilled = await kv.get(pointerOf(last.setCookie, phone).key);
    assert.match(spilled, /^2ke\./);
    assert.ok(spilled.length > 4096, `spilled state of ${spilled.length} bytes holds the turns`);
    for (const key of keys) {
      const value = await kv.get(key);
      assert.ok(!value.includes("Lorem"), `KV value under ${key} is readable`);
      assert.ok(!Buffer.from(value.split(".")[2] ?? "", "base64url").toString().includes("Lorem"));
    }
  } finally {
    await w.dispose();
  }
});

test("with KV and ENCRYPT_STATE=false, the spilled state holds the recent message bodies", async () => {
  const w = await startWorker({ HISTORY_TURNS: "10", ENCRYPT_STATE: "false" }, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    let last;
    for (let n = 1; n <= 12; n++) {
      last = await sendAndSettle(phone, kv, longBody(n));
      assert.equal(last.reply, expected(n));
      assertCookieFits(last, n);
    }
    const { key, summary } = pointerOf(last.setCookie, phone);
    assert.equal(summary.count, 12);
    const spilled = await kv.get(key);
    assert.match(spilled, /^2ks\./);
    const { expiresAt, state } = sealedPayload(spilled, phone);
    assert.ok(expiresAt > Date.now() / 1000, "not expired");
    assert.equal(state.count, 12);
    assert.equal(state.seq, summary.seq, "the pointer names this very state");
    // Within HISTORY_MAX_BYTES (8192 by default): the newest turns, consecutive, in order.
    assert.ok(state.turns.length >= 2 && state.turns.length <= 10, `${state.turns.length} turns`);
    const first = 12 - state.turns.length + 1;
    state.turns.forEach((turn, i) => {
      assert.equal(turn.inbound, longBody(first + i), `turn ${i} is message ${first + i}`);
      assert.deepEqual(turn.reply, [expected(first + i)]);
    });
    assert.equal(state.turns.at(-1).messageSid, state.lastMessageSid);
    // The pair's own entry holds the same conversation.
    const pairKeys = await keysOf(kv, "pair:");
    assert.equal(pairKeys.length, 1);
    const { state: pairState } = sealedPayload(await kv.get(pairKeys[0]), phone);
    assert.equal(pairState.count, 12);
    assert.equal(pairState.turns.at(-1).inbound, longBody(12));
  } finally {
    await w.dispose();
  }
});

test("a conversation whose cookie Twilio dropped continues from KV", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    for (let n = 1; n <= 3; n++) {
      const res = await sendAndSettle(phone, kv, `hello ${n}`);
      assert.equal(res.reply, expected(n));
    }
    assert.equal((await keysOf(kv, "pair:")).length, 1);
    phone.cookie = null; // Twilio forgets a pair's cookie after 4 hours idle.
    const fourth = await sendAndSettle(phone, kv, "hello 4");
    assert.equal(fourth.status, 200);
    assert.equal(fourth.reply, expected(4));
    assertCookieFits(fourth, 4);
    assert.equal((await phone.send("hello 5")).reply, expected(5));
    // Another pair finds nothing of this one in KV.
    const other = phoneOn(w.mf);
    assert.equal((await other.send("hi")).reply, NEW);
  } finally {
    await w.dispose();
  }
});

test("CONVERSATION_TTL_SECONDS past 4 hours: with KV a day is kept (cookie Max-Age 4 h, sealed for the day), a text without its cookie continues; without a store it is refused", async () => {
  const DAY = { CONVERSATION_TTL_SECONDS: "86400" };
  const w = await startWorker(DAY, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    const first = await sendAndSettle(phone, kv, "hello 1");
    assert.equal(first.status, 200, first.text);
    assert.match(first.setCookie, /; Max-Age=14400/, "Twilio keeps a cookie 4 hours at most");
    const { expiresAt } = sealedPayload(cookieValue(first.setCookie), phone);
    const inADay = Date.now() / 1000 + 86400;
    assert.ok(Math.abs(expiresAt - inADay) < 60, `sealed for the conversation's day: ${expiresAt}`);
    await sendAndSettle(phone, kv, "hello 2");
    phone.cookie = null; // What Twilio does after 4 idle hours.
    const third = await phone.send("hello 3");
    assert.equal(third.reply, expected(3));
    assert.equal(third.headers.get("x-state-source"), "kv");
  } finally {
    await w.dispose();
  }
  const bare = await startWorker(DAY);
  try {
    const res = await phoneOn(bare.mf).send("hi");
    assert.equal(res.status, 500, res.text);
    assert.ok(res.text.startsWith("misconfigured: CONVERSATION_TTL_SECONDS"), res.text);
    assert.match(res.text, /bind CONVERSATIONS \(KV\) or CONVERSATION_OBJECTS/);
  } finally {
    await bare.dispose();
  }
});

test("a spilled conversation whose cookie was dropped continues from KV", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    for (let n = 1; n <= 4; n++) await sendAndSettle(phone, kv, longBody(n));
    phone.cookie = null;
    const res = await phone.send(longBody(5));
    assert.equal(res.reply, expected(5));
    assertCookieFits(res, 5);
  } finally {
    await w.dispose();
  }
});

/** A peer worker whose default export builds a KV namespace that fails every call. */
function brokenKvPeer(mode) {
  const fail = {
    throw: `() => { throw new Error("KV is down"); }`,
    reject: `async () => { throw new Error("KV is down"); }`,
  }[mode];
  return {
    name: `broken-kv-${mode}`,
    modules: true,
    script: `export default function (env) {
      const fail = ${fail};
      return { get: fail, put: fail, delete: fail, list: fail, getWithMetadata: fail };
    }`,
  };
}

for (const mode of ["throw", "reject"]) {
  test(`a KV namespace whose calls ${mode}: every message still gets 200 and an exact count`, async () => {
    const logs = captureLogs();
    const w = await startWorkerWithPeers(
      {},
      { wrappedBindings: { CONVERSATIONS: { scriptName: `broken-kv-${mode}` } } },
      [brokenKvPeer(mode)],
      { handleRuntimeStdio: logs.handleRuntimeStdio },
    );
    try {
      const phone = phoneOn(w.mf);
      for (let n = 1; n <= 4; n++) {
        const res = await phone.send(`short ${n}`);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.reply, expected(n));
      }
      // Long texts: the state outgrows the cookie, the spill write fails after the reply,
      // and the pointer's summary still carries the count.
      const big = phoneOn(w.mf);
      for (let n = 1; n <= 5; n++) {
        const res = await big.send(longBody(n));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.reply, expected(n));
        assertCookieFits(res, n);
      }
      // No cookie at all: KV is asked and fails; the isolate still remembers the pair's
      // latest state, so nothing is lost.
      const lost = phoneOn(w.mf, phone.from);
      const res = await lost.send("anyone there?");
      assert.equal(res.status, 200, res.text);
      assert.equal(res.reply, expected(5));
      // A pair this isolate never saw starts afresh.
      const stranger = await phoneOn(w.mf).send("hello?");
      assert.equal(stranger.status, 200, stranger.text);
      assert.equal(stranger.reply, NEW);
      await sleep(200);
      assert.match(logs.text(), /"event":"kv_read"/, "the failed KV read is logged");
      assert.doesNotMatch(logs.text(), /panicked/);
    } finally {
      await w.dispose();
    }
  });
}

test("a KV read that never answers times out and the reply still goes out", async () => {
  const w = await startWorkerWithPeers(
    {},
    { wrappedBindings: { CONVERSATIONS: { scriptName: "hanging-kv" } } },
    [
      {
        name: "hanging-kv",
        modules: true,
        script: `export default function (env) {
          const hang = () => new Promise(() => {});
          const ok = async () => undefined;
          return { get: hang, getWithMetadata: hang, list: hang, put: ok, delete: ok };
        }`,
      },
    ],
  );
  try {
    const phone = phoneOn(w.mf);
    const started = Date.now();
    const res = await phone.send("hello?");
    const ms = Date.now() - started;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, NEW);
    assert.ok(ms < 10_000, `answered after ${ms} ms (Twilio waits 15 s)`);
    // With the cookie, KV is not read at all: no wait.
    const t2 = Date.now();
    assert.equal((await phone.send("again")).reply, expected(2));
    assert.ok(Date.now() - t2 < 2000, "a cookie conversation does not wait for KV");
  } finally {
    await w.dispose();
  }
});

test("RESET forgets the conversation: cookie removed, KV entry deleted", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    let last;
    for (let n = 1; n <= 3; n++) last = await sendAndSettle(phone, kv, longBody(n));
    assert.equal(last.reply, expected(3));
    const spillKey = pointerOf(last.setCookie, phone).key;
    assert.equal((await keysOf(kv, "pair:")).length, 1);

    const reset = await phone.send("reset");
    assert.equal(reset.status, 200);
    assert.equal(reset.reply, RESET_REPLY);
    assert.match(reset.setCookie, /^sms_state=;/);
    assert.match(reset.setCookie, /Max-Age=0(;|$)/i);
    assert.equal(phone.cookie, null);
    await waitFor(async () => (await keysOf(kv, "pair:")).length === 0, "the pair: key to go");
    await waitFor(async () => (await kv.get(spillKey)) === null, "the pointed-to spill to go");

    // No cookie, KV bound: nothing left to recover.
    const next = await phone.send("hello again");
    assert.equal(next.reply, NEW);
  } finally {
    await w.dispose();
  }
});

test("RESET is case-insensitive and works without a cookie", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    for (let n = 1; n <= 2; n++) await sendAndSettle(phone, kv, `hi ${n}`);
    phone.cookie = null;
    const reset = await phone.send("  Reset ");
    assert.equal(reset.reply, RESET_REPLY);
    await waitFor(async () => (await keysOf(kv, "pair:")).length === 0, "the pair: key to go");
    assert.equal((await phone.send("hi")).reply, NEW);
  } finally {
    await w.dispose();
  }
});

test("STOP gets an empty <Response/>, is still counted, and is remembered (in KV too) until START", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    await sendAndSettle(phone, kv, "hi");
    const stop = await sendAndSettle(phone, kv, "STOP");
    assert.equal(stop.status, 200);
    assert.equal(stop.text, EMPTY_TWIML);
    assert.match(stop.headers.get("content-type"), /^text\/xml/);
    for (const word of ["stop", "Unsubscribe", "QUIT"]) {
      assert.equal((await phone.send(word)).text, EMPTY_TWIML, word);
    }
    // Opted out: not answered, whatever the text, even with the cookie lost (KV remembers).
    phone.cookie = null;
    assert.equal((await sendAndSettle(phone, kv, "hello?")).text, EMPTY_TWIML);
    // START is Twilio's opt-in keyword: the opt-out is cleared, the counter does not see it.
    assert.equal((await sendAndSettle(phone, kv, "START")).text, EMPTY_TWIML);
    assert.equal((await phone.send("hi again")).reply, expected(8));
  } finally {
    await w.dispose();
  }
});

test("with KV, a retried MessageSid gets the same reply and is not counted twice", async () => {
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const phone = phoneOn(w.mf);
    await sendAndSettle(phone, kv, "one");
    const sid = newSid();
    const second = await sendAndSettle(phone, kv, "two", { sid });
    assert.equal(second.reply, expected(2));
    // Redelivered with the cookie the first delivery set.
    const retry = await phone.send("two", { sid });
    assert.equal(retry.status, 200);
    assert.equal(retry.reply, expected(2));
    // Redelivered with no cookie at all: KV recognises it.
    const noCookie = await phone.send("two", { sid, cookie: null });
    assert.equal(noCookie.reply, expected(2));
    assert.equal((await sendAndSettle(phone, kv, "three")).reply, expected(3));
  } finally {
    await w.dispose();
  }
});
