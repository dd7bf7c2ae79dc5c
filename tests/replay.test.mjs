// End-to-end: replays of captured webhooks, and the settings that close the related holes
// (WEBHOOK_METHOD, several SESSION_SECRET keys, several TWILIO_AUTH_TOKEN tokens), against
// the built worker in workerd through Miniflare, signed with the official `twilio` SDK.
//
// X-Twilio-Signature has no timestamp or nonce and does not cover the Cookie header, so
// whoever saw one signed webhook can send it again, with any cookie or none. Each test
// below reproduces one attack from the security issue and says what the previous release
// did with it. Miniflare runs a single isolate, so the isolate's memory sees every request
// here; what a cookie alone cannot catch across isolates is documented in src/guide/running.md (Security).
//
// KV writes happen after the reply (ctx.waitUntil): tests that rely on them poll until they
// landed, never sleep a fixed time.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import twilio from "twilio";
import {
  startWorker,
  captureLogs,
  Phone,
  newSid,
  sign,
  smsParams,
  replyText,
  openSealed,
  AUTH_TOKEN,
  ACCOUNT_SID,
  TWILIO_NUMBER,
  RESET_REPLY,
  EMPTY_TWIML,
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
const nextNumber = () => `+1415555${String(2000 + (numberSeq += 1) * 41).slice(-4)}`;

const phoneOn = (mf, from = nextNumber(), opts = {}) =>
  new Phone((url, init) => mf.dispatchFetch(url, init), opts.url ?? WEBHOOK, from, opts);



/** The `webhook` log lines so far, parsed. */
function webhookLines(logs) {
  return logs
    .lines()
    .filter((l) => l.includes('"event":"webhook"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
}

/** The outcome logged for the `n`th webhook (1-based), waiting for its line. */
async function outcomeOf(logs, n) {
  const lines = await waitFor(() => {
    const lines = webhookLines(logs);
    return lines.length >= n && lines;
  }, `log line of webhook ${n}`);
  return lines[n - 1].outcome;
}

/**
 * Sends a new message of `phone`'s pair exactly as Phone.send does, and returns the answer
 * and what someone who saw the request on the wire captured: the signed parameters, the
 * signature and the cookie it carried.
 */
async function sendCaptured(phone, body, { sid = newSid(), extra = {} } = {}) {
  const params = smsParams({ from: phone.from, to: phone.to, body, sid, extra });
  const signature = sign(phone.webhookUrl, params, phone.token);
  const capture = { url: phone.webhookUrl, params, signature, cookie: phone.cookie };
  const res = await phone.post(params, { signature });
  return { res, capture };
}

/**
 * Sends a captured webhook again, byte for byte, with `cookie` (by default the one it
 * carried; null for none). Nobody's cookie jar changes: the answer goes to the attacker.
 */
async function replay(mf, capture, { cookie = capture.cookie } = {}) {
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    "x-twilio-signature": capture.signature,
  };
  if (cookie) headers.cookie = cookie;
  const res = await mf.dispatchFetch(capture.url, {
    method: "POST",
    headers,
    body: new URLSearchParams(capture.params).toString(),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, setCookie: res.headers.get("set-cookie"), reply: replyText(text) };
}

/** A GET to `url` signed as Twilio signs GET webhooks: the whole URL, no body parameters. */
async function signedGet(mf, url, { signature = sign(url, {}), cookie } = {}) {
  const headers = { "x-twilio-signature": signature };
  if (cookie) headers.cookie = cookie;
  const res = await mf.dispatchFetch(url, { method: "GET", headers });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, setCookie: res.headers.get("set-cookie"), reply: replyText(text) };
}

/** A GET webhook URL as Twilio builds it: the parameters in the query. */
function getWebhookUrl(base, params) {
  const query = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return `${base}?${query}`;
}

/** A 1,600-character text (Twilio's maximum), distinct per message, not only ASCII. */
function longBody(i) {
  const head = `Message ${i}: `;
  const filler = "Lorem ipsum dolor sit amet — ünïcödé ß ";
  return (head + filler.repeat(60)).slice(0, 1600);
}

/** Every key and value in the namespace. */
async function snapshot(kv) {
  const all = new Map();
  for (const { name } of (await kv.list()).keys) all.set(name, await kv.get(name));
  return all;
}

/**
 * Sends `body`, then waits until the message's KV writes are visible: the pair's entry
 * (a fresh seal on every counted message, so a new value or a new key) and, when the
 * answer is a pointer cookie, the spilled record too.
 */
async function sendAndSettle(phone, kv, body, opts) {
  const before = await snapshot(kv);
  const res = await phone.send(body, opts);
  assert.equal(res.status, 200, res.text);
  const writes = /^sms_state=2p[se]\./.test(res.setCookie ?? "") ? 2 : 1;
  let written = [];
  await waitFor(async () => {
    written = [...(await snapshot(kv))].filter(([k, v]) => before.get(k) !== v);
    return written.length >= writes;
  }, `${writes} KV write(s) after "${body.slice(0, 12)}…"`);
  return { ...res, written: new Map(written) };
}

async function converse(phone, n) {
  for (let i = 1; i <= n; i++) {
    const res = await phone.send(`hello ${i}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, expected(i));
  }
}

// ---------------------------------------------------------------------------------------
// 1. A replayed RESET.

test("a captured RESET replayed later, with any cookie or none, is a retry and resets nothing", async () => {
  // Previously a RESET was acted on before any state was read (no retry check at all), so
  // every replay wiped the conversation again and the next real message was "new" again.
  const logs = captureLogs();
  const w = await startWorker({}, { handleRuntimeStdio: logs.handleRuntimeStdio });
  try {
    const phone = phoneOn(w.mf);
    let requests = 0;
    await converse(phone, 3);
    requests += 3;
    const { res: reset, capture } = await sendCaptured(phone, "RESET");
    requests += 1;
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.reply, RESET_REPLY);
    assert.equal(phone.cookie, null, "the reset deleted the cookie");
    assert.ok(capture.cookie, "the captured RESET carried the count-3 cookie");

    assert.equal((await phone.send("back again")).reply, NEW);
    assert.equal((await phone.send("and again")).reply, expected(2));
    requests += 2;

    // Everything is gathered before asserting, so a failure shows all three replays and
    // what the next real message got.
    const replays = [];
    for (const [what, cookie] of [
      ["its own old cookie", capture.cookie],
      ["no cookie", null],
      ["the current cookie", phone.cookie],
    ]) {
      const res = await replay(w.mf, capture, { cookie });
      requests += 1;
      replays.push({ what, status: res.status, reply: res.reply, outcome: await outcomeOf(logs, requests) });
    }
    const next = await phone.send("still here");
    requests += 1;
    const nextOutcome = await outcomeOf(logs, requests);

    assert.deepEqual(
      { replays, next: { reply: next.reply, outcome: nextOutcome } },
      {
        // The record keeps the latest answer and the kept turns; a RESET's answer is neither
        // once later messages came, so the replay gets an empty <Response/>: never a second,
        // different answer, and nothing changes.
        replays: replays.map(({ what }) => ({ what, status: 200, reply: replyText(EMPTY_TWIML), outcome: "retry" })),
        next: { reply: expected(3), outcome: "reply" },
      },
      "each replayed RESET is recognised as a retry and resets nothing",
    );
    assert.equal(await outcomeOf(logs, requests), "reply");
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// 2. An older message replayed with the older cookie it carried.

test("an older message replayed three times with the cookie it carried changes nothing", async (t) => {
  // Previously only the latest MessageSid was recognised: the isolate's memory replaced the
  // stale cookie with the count-3 state, message 2 was counted again on every replay
  // (4, 5, 6) and the next real message was "number 7".
  for (const vars of [{}, { HISTORY_TURNS: "0" }]) {
    const name = Object.keys(vars).length ? "HISTORY_TURNS=0 (no turns kept)" : "default history";
    await t.test(name, async () => {
      const logs = captureLogs();
      const w = await startWorker(vars, { handleRuntimeStdio: logs.handleRuntimeStdio });
      try {
        const phone = phoneOn(w.mf);
        assert.equal((await phone.send("one")).reply, NEW);
        const { res: second, capture } = await sendCaptured(phone, "two");
        assert.equal(second.reply, expected(2));
        assert.equal((await phone.send("three")).reply, expected(3));
        assert.ok(capture.cookie, "message 2 carried the count-1 cookie");
        let requests = 3;

        const replays = [];
        for (let i = 1; i <= 3; i++) {
          const res = await replay(w.mf, capture);
          requests += 1;
          replays.push({ i, status: res.status, reply: res.reply, outcome: await outcomeOf(logs, requests) });
        }
        const next = await phone.send("four");
        assert.deepEqual(
          { replays, next: next.reply },
          {
            // With history, message 2's answer is in its kept turn; with HISTORY_TURNS=0 only
            // the latest answer is kept, so an older replay gets an empty <Response/>.
            replays: replays.map(({ i }) => ({
              i,
              status: 200,
              reply: vars.HISTORY_TURNS === "0" ? replyText(EMPTY_TWIML) : expected(2),
              outcome: "retry",
            })),
            next: expected(4), // not 7
          },
          "each replay gets the answer message 2 got, as a retry, and counts nothing",
        );
      } finally {
        await w.dispose();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// 3. A POST's signature reused as a GET's, with a query-string webhook URL.

/**
 * Sets up the attack on a worker whose webhook URL has a query: the victim's conversation
 * at 3, then the attacker's genuine text whose body spells the victim's parameters. Returns
 * the forged GET URL, which Twilio's signature of the attacker's POST also signs.
 */
async function forgeGetFromPost(mf, kv) {
  const url = "http://localhost/sms?k=1";
  const victim = phoneOn(mf, "+14155550142", { url });
  for (let n = 1; n <= 3; n++) {
    assert.equal((await sendAndSettle(victim, kv, `hello ${n}`)).reply, expected(n));
  }

  const attacker = phoneOn(mf, "+14155550199", { url });
  const body =
    `&From=${encodeURIComponent(victim.from)}&To=${encodeURIComponent(TWILIO_NUMBER)}` +
    `&Body=RESET&MessageSid=SMforged&AccountSid=${ACCOUNT_SID}&z=`;
  // Twilio signs the raw URL + parameters: the forged URL must survive URL normalisation
  // unchanged, so no parameter may hold a space. A number in a one-word city has none.
  const before = await snapshot(kv);
  const { res, capture } = await sendCaptured(attacker, body, {
    extra: { FromCity: "OAKLAND", ToCity: "BERKELEY" },
  });
  assert.equal(res.status, 200, res.text);
  await waitFor(async () => (await snapshot(kv)).size > before.size, "the attacker's KV entry");
  assert.equal(res.reply, NEW, "the attacker's own text is a message of the attacker's pair");

  // The string Twilio signs for a POST: the URL, then each parameter's name and value,
  // sorted by name, with no delimiters. The same string read as a URL is a GET whose query
  // holds the victim's parameters.
  const params = capture.params;
  const signed = url + Object.keys(params).sort().map((k) => k + params[k]).join("");
  assert.equal(new URL(signed).href, signed, "the forged URL is already in normal form");
  assert.equal(
    twilio.getExpectedTwilioSignature(AUTH_TOKEN, signed, {}),
    capture.signature,
    "the POST's signature verifies the GET URL",
  );
  const query = new URL(signed).searchParams;
  assert.equal(query.get("From"), victim.from);
  assert.equal(query.get("To"), TWILIO_NUMBER);
  assert.equal(query.get("Body"), "RESET");
  assert.equal(query.get("MessageSid"), "SMforged");
  assert.equal(query.get("AccountSid"), ACCOUNT_SID);
  return { victim, forgedUrl: signed, signature: capture.signature };
}

test("a POST's signature does not pass as a GET (default WEBHOOK_METHOD=POST)", async () => {
  // Previously GET and POST were both always accepted, so the forged GET verified and
  // reset the victim's conversation (the reset, remembered by the isolate as newer than
  // the victim's cookie, and the victim's KV entry deleted): the victim's next message
  // was "new" again.
  const w = await startWorker({}, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const { victim, forgedUrl, signature } = await forgeGetFromPost(w.mf, kv);
    const before = await snapshot(kv);
    for (const cookie of [null, victim.cookie]) {
      const res = await signedGet(w.mf, forgedUrl, { signature, cookie });
      const what = cookie ? "with the victim's cookie" : "with no cookie";
      assert.equal(res.status, 405, `${what}: ${res.text}`);
      assert.match(res.text, /WEBHOOK_METHOD/, what);
      assert.ok(res.headers.get("allow"), `${what}: an Allow header`);
      assert.equal(res.setCookie, null, what);
    }
    assert.deepEqual(await snapshot(kv), before, "KV untouched");
    assert.equal((await victim.send("hello 4")).reply, expected(4));
  } finally {
    await w.dispose();
  }
});

test("with WEBHOOK_METHOD=ANY the forged GET is accepted: the documented risk of ANY", async () => {
  // The trade-off src/guide/running.md (Security) documents: ANY accepts both methods, and with them this forgery.
  const w = await startWorker({ WEBHOOK_METHOD: "ANY" }, KV);
  try {
    const kv = await w.mf.getKVNamespace("CONVERSATIONS");
    const { victim, forgedUrl, signature } = await forgeGetFromPost(w.mf, kv);
    const before = await snapshot(kv);
    // The attacker has no cookie of the victim's, and needs none: KV finds the victim's
    // conversation for the forged pair.
    const res = await signedGet(w.mf, forgedUrl, { signature });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.reply, RESET_REPLY, "the forged RESET is obeyed");
    await waitFor(async () => (await snapshot(kv)).size < before.size, "the victim's KV entry to go");
    // The reset is remembered as newer than the victim's cookie, so the victim's
    // conversation starts over: what ANY risks, and why POST is the default.
    assert.equal((await victim.send("hello 4")).reply, NEW);
  } finally {
    await w.dispose();
  }
});

// ---------------------------------------------------------------------------------------
// 4. WEBHOOK_METHOD in each setting.

test("WEBHOOK_METHOD: POST (default), GET, ANY, and a bad value", async () => {
  // Previously there was no WEBHOOK_METHOD: both methods were always served, and the var
  // was ignored whatever its value.
  const getOf = (phone, body) =>
    getWebhookUrl(WEBHOOK, smsParams({ from: phone.from, body, sid: newSid() }));

  // POST (the default, and spelled out).
  for (const vars of [{}, { WEBHOOK_METHOD: "POST" }, { WEBHOOK_METHOD: "post" }]) {
    const w = await startWorker(vars);
    try {
      const what = JSON.stringify(vars);
      const phone = phoneOn(w.mf);
      const post = await phone.send("hi");
      assert.equal(post.status, 200, `${what}: ${post.text}`);
      assert.equal(post.reply, NEW);
      const get = await signedGet(w.mf, getOf(phone, "hi by GET"), { cookie: phone.cookie });
      assert.equal(get.status, 405, `${what}: ${get.text}`);
      assert.match(get.text, /WEBHOOK_METHOD/);
      assert.ok(get.headers.get("allow"), "an Allow header");
      assert.equal(get.setCookie, null);
      const info = await w.mf.dispatchFetch(WEBHOOK);
      assert.equal(info.status, 200, "GET without a query is the info page");
      assert.match(await info.text(), /SMS conversation worker/);
      assert.equal((await phone.send("again")).reply, expected(2), "the refused GET counted nothing");
    } finally {
      await w.dispose();
    }
  }

  // GET.
  {
    const w = await startWorker({ WEBHOOK_METHOD: "GET" });
    try {
      const phone = phoneOn(w.mf);
      const get = await signedGet(w.mf, getOf(phone, "hi by GET"));
      assert.equal(get.status, 200, get.text);
      assert.equal(get.reply, NEW);
      const cookie = get.setCookie.split(";")[0];
      const post = await phone.send("hi by POST", { cookie });
      assert.equal(post.status, 405, post.text);
      assert.match(post.text, /WEBHOOK_METHOD/);
      assert.ok(post.headers.get("allow"), "an Allow header");
      const again = await signedGet(w.mf, getOf(phone, "again"), { cookie });
      assert.equal(again.reply, expected(2), "the refused POST counted nothing");
      const info = await w.mf.dispatchFetch(WEBHOOK);
      assert.equal(info.status, 200);
      await info.text();
    } finally {
      await w.dispose();
    }
  }

  // ANY: both, one conversation.
  {
    const w = await startWorker({ WEBHOOK_METHOD: "ANY" });
    try {
      const phone = phoneOn(w.mf);
      const get = await signedGet(w.mf, getOf(phone, "hi by GET"));
      assert.equal(get.status, 200, get.text);
      assert.equal(get.reply, NEW);
      const post = await phone.send("hi by POST", { cookie: get.setCookie.split(";")[0] });
      assert.equal(post.status, 200, post.text);
      assert.equal(post.reply, expected(2));
    } finally {
      await w.dispose();
    }
  }

  // A value that is none of them: every webhook is refused, naming the variable.
  {
    const w = await startWorker({ WEBHOOK_METHOD: "PUT" });
    try {
      const phone = phoneOn(w.mf);
      const post = await phone.send("hi");
      assert.equal(post.status, 500, post.text);
      assert.match(post.text, /misconfigured: WEBHOOK_METHOD/);
      assert.equal(post.setCookie, null);
      const get = await signedGet(w.mf, getOf(phone, "hi by GET"));
      assert.equal(get.status, 500, get.text);
      assert.match(get.text, /misconfigured: WEBHOOK_METHOD/);
    } finally {
      await w.dispose();
    }
  }
});

// ---------------------------------------------------------------------------------------
// 5. SESSION_SECRET rotation with KV persisted across restarts.

const SECRET_A = "rotation-secret-A-0123456789abcdef-0123456789";
const SECRET_B = "rotation-secret-B-fedcba9876543210-9876543210";

const cookieValue = (cookie) => /^sms_state=([^;]*)/.exec(cookie)[1];

/** Opens a sealed value of `phone`'s pair with `secret` (throws if that key did not seal it). */
const openWith = (sealed, phone, secret) => openSealed(sealed, { secret, from: phone.from });

test("SESSION_SECRET rotation loses nothing: KV entries and spills sealed under the old key keep opening", async () => {
  // Previously every SESSION_SECRET key opened cookies and KV values, but the pair's KV key
  // was derived from the first key only: after the rotation to "B,A" a conversation that
  // lost its cookie looked under B's key, found nothing and started over at "new" (spilled
  // or not); only a pointer cookie still reached its spill.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-kv-"));
  const start = (secret) => startWorker({ SESSION_SECRET: secret }, { ...KV, kvPersist: dir });
  const plain = phoneOn(null);
  const spilled = phoneOn(null);
  const spilledLost = phoneOn(null);
  const attach = (w) => {
    for (const p of [plain, spilled, spilledLost]) {
      p.fetchFn = (url, init) => w.mf.dispatchFetch(url, init);
    }
  };
  try {
    // Under A: one short conversation and two spilled ones, each at 3, all in KV.
    let w = await start(SECRET_A);
    try {
      attach(w);
      const kv = await w.mf.getKVNamespace("CONVERSATIONS");
      for (let n = 1; n <= 3; n++) {
        assert.equal((await sendAndSettle(plain, kv, `hello ${n}`)).reply, expected(n));
        for (const p of [spilled, spilledLost]) {
          const res = await sendAndSettle(p, kv, longBody(n));
          assert.equal(res.reply, expected(n));
          assert.ok(Buffer.byteLength(res.setCookie) <= 4096);
        }
      }
      assert.match(spilled.cookie, /^sms_state=2p[se]\./, "the long conversation spilled to KV");
      assert.match(plain.cookie, /^sms_state=2c[se]\./, "the short one lives in its cookie");
    } finally {
      await w.dispose();
    }

    // Rotated: B seals, A still opens. A fresh process: nothing but KV remembers anything.
    w = await start(`${SECRET_B},${SECRET_A}`);
    try {
      attach(w);
      const kv = await w.mf.getKVNamespace("CONVERSATIONS");
      // (a) The short conversation lost its cookie: its A-sealed entry, under A's key.
      plain.cookie = null;
      const a = await sendAndSettle(plain, kv, "hello 4");
      assert.equal(a.reply, expected(4), "recovered from the entry sealed under A");
      // What it wrote is sealed under B (and no longer opens with A).
      assert.equal(openWith(cookieValue(a.setCookie), plain, SECRET_B).state.count, 4);
      assert.throws(() => openWith(cookieValue(a.setCookie), plain, SECRET_A));
      const [[, entry]] = [...a.written];
      assert.equal(openWith(entry, plain, SECRET_B).state.count, 4, "the new pair entry, under B");

      // (b) The spilled conversation sends its A-sealed pointer cookie.
      const b = await sendAndSettle(spilled, kv, longBody(4));
      assert.equal(b.reply, expected(4));
      const { key, summary } = openWith(cookieValue(b.setCookie), spilled, SECRET_B);
      assert.equal(summary.count, 4);
      const { state } = openWith(b.written.get(key), spilled, SECRET_B);
      assert.equal(state.count, 4);
      const inbound = state.turns.map((t) => t.inbound);
      assert.deepEqual(inbound, [1, 2, 3, 4].map(longBody), "its history came through the rotation");
      // The other spilled conversation lost its pointer cookie: its A-sealed pair entry.
      spilledLost.cookie = null;
      const lost = await sendAndSettle(spilledLost, kv, longBody(4));
      assert.equal(lost.reply, expected(4), "recovered without its pointer cookie");
      assert.equal(openWith(cookieValue(lost.setCookie), spilledLost, SECRET_B).summary.count, 4);
      // And a lost cookie again, now that the newest entry is B's.
      spilled.cookie = null;
      assert.equal((await sendAndSettle(spilled, kv, longBody(5))).reply, expected(5));
    } finally {
      await w.dispose();
    }

    // A retired: only B. Everything written since the rotation still opens.
    w = await start(SECRET_B);
    try {
      attach(w);
      const kv = await w.mf.getKVNamespace("CONVERSATIONS");
      plain.cookie = null;
      assert.equal((await sendAndSettle(plain, kv, "hello 5")).reply, expected(5));
      assert.equal((await sendAndSettle(spilled, kv, longBody(6))).reply, expected(6), "B pointer cookie");
      spilledLost.cookie = null;
      assert.equal((await sendAndSettle(spilledLost, kv, longBody(5))).reply, expected(5));
    } finally {
      await w.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// 6. TWILIO_AUTH_TOKEN rotation.

test("TWILIO_AUTH_TOKEN with two tokens: either verifies, a third is 403", async () => {
  // Previously TWILIO_AUTH_TOKEN was one token: "new,old" was taken whole, so every
  // webhook signed with either token was refused (403).
  const NEW_TOKEN = "new-token-0123456789abcdef0123456789";
  const OLD_TOKEN = "old-token-fedcba9876543210fedcba9876";
  const w = await startWorker({ TWILIO_AUTH_TOKEN: `${NEW_TOKEN},${OLD_TOKEN}` });
  try {
    const from = nextNumber();
    const phone = phoneOn(w.mf, from, { token: NEW_TOKEN });
    const first = await phone.send("signed with the new token");
    assert.equal(first.status, 200, first.text);
    assert.equal(first.reply, NEW);
    phone.token = OLD_TOKEN;
    const second = await phone.send("signed with the old token");
    assert.equal(second.status, 200, second.text);
    assert.equal(second.reply, expected(2));
    for (const token of ["a-third-token-0000000000000000000", AUTH_TOKEN]) {
      phone.token = token;
      const res = await phone.send("signed with another token");
      assert.equal(res.status, 403, res.text);
      assert.equal(res.setCookie, null);
    }
    phone.token = NEW_TOKEN;
    assert.equal((await phone.send("new again")).reply, expected(3), "the refused ones counted nothing");
  } finally {
    await w.dispose();
  }
});
