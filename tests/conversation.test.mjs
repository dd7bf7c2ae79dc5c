// End to end: the BUILT worker (build/index.js + wasm) in workerd through Miniflare, driven
// the way Twilio drives it. Every webhook is signed with the official `twilio` package, and
// the cookie Twilio keeps per To/From pair is carried by a `Phone` per pair.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import twilio from "twilio";
import {
  AUTH_TOKEN,
  Phone,
  SESSION_SECRET,
  TWILIO_NUMBER,
  newSid,
  replyText,
  sign,
  smsParams,
  startWorker,
} from "./helpers/worker.mjs";

// The public origin Twilio calls. Miniflare's dispatchFetch hands the URL to the worker
// as is (nothing is contacted but the local workerd).
const ORIGIN = "https://sms-worker.example.com";
const WEBHOOK = `${ORIGIN}/sms`;
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>';
const FIRST = "Hello, thanks for the new message.";
const nth = (n) => `Hello, thanks for message number ${n}`;
const REY = "+14155550100";
const KNOWN = JSON.stringify({ [REY]: "Rey" });
// A second session secret, for key rotation; SESSION_SECRET (the helper's default) is the old one.
const NEW_SECRET = "e2e-rotated-session-secret-ZYXWVUTSRQPONMLKJIHG";

// ---------------------------------------------------------------------------------------
// Workers: one per configuration, started on first use and disposed at the end.

const cache = new Map();

async function launch(vars) {
  const logs = [];
  const w = await startWorker(vars, {
    // No request.cf download from cloudflare.com: tests talk to 127.0.0.1 only.
    cf: false,
    // Keep workerd's output (the worker's JSON log lines) for assertions, off the console.
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (d) => logs.push(...String(d).split("\n")));
    },
  });
  const fetchFn = (url, init) => w.mf.dispatchFetch(url, init);
  return { ...w, logs, fetch: fetchFn };
}

/** The worker for `vars` (merged over the helper's signed defaults), shared across tests. */
function worker(vars = {}) {
  const key = JSON.stringify(vars);
  if (!cache.has(key)) cache.set(key, launch(vars));
  return cache.get(key);
}

/** A worker used by one test only, disposed right after it. */
async function withWorker(vars, fn) {
  const w = await launch(vars);
  try {
    return await fn(w);
  } finally {
    await w.dispose();
  }
}

after(async () => {
  const all = await Promise.allSettled(cache.values());
  for (const r of all) if (r.status === "fulfilled") await r.value.dispose();
});

// ---------------------------------------------------------------------------------------
// Helpers.

/** Parses one Set-Cookie header: name, value, and the attributes (lower-cased names). */
function parseSetCookie(header) {
  assert.ok(header, "expected a Set-Cookie header");
  const [pair, ...attrs] = header.split(";").map((s) => s.trim());
  const eq = pair.indexOf("=");
  const attributes = new Map();
  for (const a of attrs) {
    const i = a.indexOf("=");
    if (i < 0) attributes.set(a.toLowerCase(), true);
    else attributes.set(a.slice(0, i).toLowerCase(), a.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** The official TwiML for one message, as twilio-node renders it. */
function officialTwiml(text) {
  const r = new twilio.twiml.MessagingResponse();
  r.message(text);
  return r.toString();
}

/** A POST with full control over signature and cookie (Phone always signs correctly). */
async function rawPost(w, url, params, { signature, cookie } = {}) {
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (signature !== undefined) headers["x-twilio-signature"] = signature;
  if (cookie) headers.cookie = cookie;
  const res = await w.fetch(url, {
    method: "POST",
    headers,
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, setCookie: res.headers.get("set-cookie") };
}

/**
 * A GET webhook the way Twilio builds it: parameters in the query, encoded with
 * encodeURIComponent (which leaves `'` raw), and the signature over that exact URL.
 */
function getWebhookUrl(base, params) {
  const query = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return `${base}?${query}`;
}

async function sendGet(w, signedUrl, { cookie, token = AUTH_TOKEN } = {}) {
  const headers = { "x-twilio-signature": sign(signedUrl, {}, token) };
  if (cookie) headers.cookie = cookie;
  const res = await w.fetch(signedUrl, { method: "GET", headers });
  const text = await res.text();
  const setCookie = res.headers.get("set-cookie");
  return {
    status: res.status,
    text,
    headers: res.headers,
    setCookie,
    reply: replyText(text),
    cookie: setCookie ? setCookie.split(";")[0] : null,
  };
}

/** Sends `n` messages from `phone` and checks the count runs 1..n. */
async function converse(phone, n, first = FIRST, next = nth) {
  for (let i = 1; i <= n; i++) {
    const r = await phone.send(`message ${i}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.reply, i === 1 ? first : next(i), `message ${i} of ${phone.from}`);
  }
}

/** Changes one character in the middle of `s` to another base64url character. */
function flipMiddle(s) {
  const i = Math.floor(s.length / 2);
  const c = s[i] === "A" ? "B" : "A";
  return s.slice(0, i) + c + s.slice(i + 1);
}

// ---------------------------------------------------------------------------------------
// The conversation.

test("a 10-message conversation is counted and answered as TwiML with one cookie", async () => {
  const w = await worker();
  const phone = new Phone(w.fetch, WEBHOOK, "+14155550111");
  for (let i = 1; i <= 10; i++) {
    const r = await phone.send(`message ${i}`);
    const expected = i === 1 ? FIRST : nth(i);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("content-type"), /^text\/xml(;|$)/);
    assert.ok(r.text.startsWith(XML_HEAD), `TwiML must start with ${XML_HEAD}: ${r.text}`);
    assert.equal(r.text, officialTwiml(expected));
    assert.equal(r.reply, expected);

    const cookies = r.headers.getSetCookie();
    assert.equal(cookies.length, 1, `exactly one Set-Cookie: ${cookies}`);
    const c = parseSetCookie(cookies[0]);
    assert.equal(c.name, "sms_state");
    assert.match(c.value, /^2c[se]\.[A-Za-z0-9_.-]+$/, "a sealed, base64url cookie value");
    assert.equal(c.attributes.get("httponly"), true);
    assert.equal(c.attributes.get("secure"), true);
    assert.equal(c.attributes.get("path"), "/");
    assert.equal(c.attributes.get("max-age"), "14400");
    assert.ok(cookies[0].length <= 4096, "Set-Cookie stays under 4096 bytes");
  }
});

test("the worker's log lines mask phone numbers and never carry bodies or secrets", async () => {
  const w = await worker();
  const from = "+14155550177";
  const phone = new Phone(w.fetch, WEBHOOK, from);
  await phone.send("a very private body text");
  await phone.send("another private body text");
  const lines = () =>
    w.logs.filter((l) => l.includes('"event":"webhook"') && l.includes("+14*******77"));
  for (let t = 0; t < 40 && lines().length < 2; t++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(lines().length, 2, `two webhook log lines for ${from}:\n${w.logs.join("\n")}`);
  const line = JSON.parse(lines()[1].slice(lines()[1].indexOf("{")));
  assert.equal(line.outcome, "reply");
  assert.equal(line.status, 200);
  assert.equal(line.count, 2);
  assert.equal(line.source, "cookie");
  // What the reply costs, per <Message>: its length, never its text.
  assert.deepEqual(line.segments, [{ encoding: "gsm7", count: 1, units: nth(2).length }]);
  const all = w.logs.join("\n");
  for (const secret of [from, "private body", AUTH_TOKEN, SESSION_SECRET]) {
    assert.ok(!all.includes(secret), `logs must not contain ${secret}`);
  }
});

test("CONVERSATION_TTL_SECONDS=600 makes the cookie's Max-Age 600", async () => {
  const w = await worker({ CONVERSATION_TTL_SECONDS: "600" });
  const phone = new Phone(w.fetch, WEBHOOK, "+14155550112");
  for (let i = 1; i <= 2; i++) {
    const r = await phone.send("hi");
    assert.equal(r.reply, i === 1 ? FIRST : nth(2));
    assert.equal(parseSetCookie(r.setCookie).attributes.get("max-age"), "600");
  }
});

test("two pairs texting at once, interleaved, keep independent counts", async () => {
  const w = await worker();
  const alice = new Phone(w.fetch, WEBHOOK, "+14155550121");
  const bob = new Phone(w.fetch, WEBHOOK, "+14155550122");
  // Alice again, to another number of ours: a different pair, a different conversation.
  const aliceOther = new Phone(w.fetch, WEBHOOK, "+14155550121", { to: "+15005550009" });
  const counts = new Map([[alice, 0], [bob, 0], [aliceOther, 0]]);
  const order = [alice, alice, bob, alice, aliceOther, bob, aliceOther, alice, bob, bob, aliceOther, alice];
  for (const phone of order) {
    const n = counts.get(phone) + 1;
    counts.set(phone, n);
    const r = await phone.send(`to ${phone.to}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.reply, n === 1 ? FIRST : nth(n), `${phone.from} → ${phone.to}, message ${n}`);
  }
  assert.deepEqual([...counts.values()], [5, 4, 3]);

  // And truly concurrent: three in flight at the same time.
  const replies = await Promise.all([alice.send("x"), bob.send("y"), aliceOther.send("z")]);
  assert.deepEqual(
    replies.map((r) => r.reply),
    [nth(6), nth(5), nth(4)],
  );
});

test("known callers from KNOWN_CALLERS are greeted by name, others as before", async () => {
  const w = await worker({ KNOWN_CALLERS: KNOWN });
  const rey = new Phone(w.fetch, WEBHOOK, REY);
  await converse(rey, 3, "Hello Rey, thanks for the new message.", (n) => `Hello Rey, thanks for message number ${n}`);
  const stranger = new Phone(w.fetch, WEBHOOK, "+14155550131");
  await converse(stranger, 2);
});

test("the Python tutorial's wording through the reply templates", async () => {
  const python = "{name} has messaged {to} {count} times.";
  const w = await worker({
    KNOWN_CALLERS: KNOWN,
    REPLY_FIRST: python,
    REPLY_NEXT: python,
    REPLY_FIRST_KNOWN: python,
    REPLY_NEXT_KNOWN: python,
  });
  const rey = new Phone(w.fetch, WEBHOOK, REY);
  const friend = new Phone(w.fetch, WEBHOOK, "+14155550141");
  for (let n = 1; n <= 3; n++) {
    assert.equal((await rey.send("hi")).reply, `Rey has messaged ${TWILIO_NUMBER} ${n} times.`);
    assert.equal((await friend.send("hi")).reply, `Friend has messaged ${TWILIO_NUMBER} ${n} times.`);
  }
});

// ---------------------------------------------------------------------------------------
// Routes.

test("GET webhooks on /sms and / are signed over the full URL, with a raw apostrophe", async () => {
  // A number whose webhook Twilio calls with GET (WEBHOOK_METHOD=GET).
  const w = await worker({ WEBHOOK_METHOD: "GET" });
  const from = "+14155550151";
  const params = (body, sid = newSid()) => smsParams({ from, body, sid });

  // Twilio signs the URL with the raw `'`; the runtime hands the worker `%27`.
  const url1 = getWebhookUrl(WEBHOOK, params("It's me"));
  assert.ok(url1.includes("It's"), "the signed URL carries the raw apostrophe");
  assert.notEqual(new URL(url1).href, url1, "workerd will see a re-encoded URL");
  assert.notEqual(sign(url1, {}), sign(new URL(url1).href, {}));
  assert.ok(twilio.validateRequest(AUTH_TOKEN, sign(url1, {}), url1, {}), "twilio-node agrees");

  const r1 = await sendGet(w, url1);
  assert.equal(r1.status, 200, r1.text);
  assert.ok(r1.text.startsWith(XML_HEAD), r1.text);
  assert.equal(r1.reply, FIRST);
  assert.equal(parseSetCookie(r1.setCookie).name, "sms_state");

  const r2 = await sendGet(w, getWebhookUrl(WEBHOOK, params("It's me again")), { cookie: r1.cookie });
  assert.equal(r2.reply, nth(2));

  // The same pair on `/`: the cookie (Path=/) is the pair's, whatever the path.
  const r3 = await sendGet(w, getWebhookUrl(`${ORIGIN}/`, params("What's up")), { cookie: r2.cookie });
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.reply, nth(3));

  // A GET whose URL was changed after signing is refused.
  const signed = getWebhookUrl(WEBHOOK, params("hi"));
  const res = await w.fetch(signed.replace("hi", "bye"), {
    headers: { "x-twilio-signature": sign(signed, {}), cookie: r3.cookie },
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("set-cookie"), null);
});

test("POST / works like POST /sms", async () => {
  const w = await worker();
  const phone = new Phone(w.fetch, `${ORIGIN}/`, "+14155550161");
  await converse(phone, 3);
});

test("GET / and GET /sms without a query answer a plain-text info page naming /sms", async () => {
  const w = await worker();
  for (const path of ["/", "/sms"]) {
    const res = await w.fetch(`${ORIGIN}${path}`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get("content-type"), /^text\/plain/);
    assert.ok(text.includes(`${ORIGIN}/sms`), `info page mentions the webhook URL: ${text}`);
    assert.equal(res.headers.get("set-cookie"), null);
  }
});

// ---------------------------------------------------------------------------------------
// Forgery and tampering.

test("unsigned and forged webhooks get 403, no cookie, and leave the conversation untouched", async () => {
  const w = await worker();
  const from = "+14155550171";
  const phone = new Phone(w.fetch, WEBHOOK, from);
  const first = await phone.send("hi");
  assert.equal(first.reply, FIRST);
  const cookie = phone.cookie;
  assert.ok(cookie);

  // The genuine signature, checked against twilio-node's own validator.
  const genuine = smsParams({ from, body: "hello", sid: newSid() });
  assert.ok(twilio.validateRequest(AUTH_TOKEN, sign(WEBHOOK, genuine), WEBHOOK, genuine));

  const tampered = { ...genuine, Body: "hello!" };
  const forgeries = {
    unsigned: { params: genuine, signature: undefined },
    "empty signature": { params: genuine, signature: "" },
    "signed with the wrong auth token": { params: genuine, signature: sign(WEBHOOK, genuine, "not-the-auth-token") },
    "signed for another URL": { params: genuine, signature: sign("https://evil.example.com/sms", genuine) },
    "signed for http instead of https": { params: genuine, signature: sign(WEBHOOK.replace("https:", "http:"), genuine) },
    "a parameter changed after signing": { params: tampered, signature: sign(WEBHOOK, genuine) },
    "a parameter added after signing": {
      params: { ...genuine, NumMedia: "1", MediaUrl0: "https://evil.example.com/x.png" },
      signature: sign(WEBHOOK, genuine),
    },
  };
  for (const [name, { params, signature }] of Object.entries(forgeries)) {
    // The oracle: Twilio's own SDK refuses it too.
    assert.equal(twilio.validateRequest(AUTH_TOKEN, signature ?? "", WEBHOOK, params), false, name);
    const r = await rawPost(w, WEBHOOK, params, { signature, cookie });
    assert.equal(r.status, 403, `${name}: ${r.text}`);
    assert.equal(r.setCookie, null, `${name}: no Set-Cookie`);
    assert.ok(!r.text.includes("<Message>"), `${name}: no reply`);
  }

  // The state is untouched: the next genuine message is number 2.
  const next = await phone.send("hello");
  assert.equal(next.status, 200, next.text);
  assert.equal(next.reply, nth(2));
});

test("a tampered, junk, or foreign cookie starts a fresh conversation", async () => {
  const w = await worker();
  const alice = new Phone(w.fetch, WEBHOOK, "+14155550181");
  await converse(alice, 3);
  const good = alice.cookie;
  const [name, value] = [good.slice(0, good.indexOf("=")), good.slice(good.indexOf("=") + 1)];
  const parts = value.split(".");
  assert.equal(parts.length, 4, `version.key.payload.mac: ${value}`);

  const payloadTampered = [parts[0], parts[1], flipMiddle(parts[2]), parts[3]].join(".");
  const macTampered = [parts[0], parts[1], parts[2], flipMiddle(parts[3])].join(".");
  const signedAsV1 = [parts[0] === "e1" ? "v1" : "e1", ...parts.slice(1)].join(".");
  for (const [what, bad] of [
    ["payload changed", payloadTampered],
    ["MAC changed", macTampered],
    ["version changed", signedAsV1],
    ["junk", "hello"],
    ["empty", ""],
  ]) {
    const r = await alice.send("again", { cookie: `${name}=${bad}` });
    assert.equal(r.status, 200, `${what}: ${r.text}`);
    assert.equal(r.reply, FIRST, what);
    assert.equal(parseSetCookie(r.setCookie).name, "sms_state", `${what}: a fresh cookie`);
  }

  // Alice's valid cookie presented by another pair: a new sender, and Alice to another number.
  const bob = new Phone(w.fetch, WEBHOOK, "+14155550182");
  const r1 = await bob.send("hi", { cookie: good });
  assert.equal(r1.reply, FIRST);
  const aliceOther = new Phone(w.fetch, WEBHOOK, "+14155550181", { to: "+15005550009" });
  const r2 = await aliceOther.send("hi", { cookie: good });
  assert.equal(r2.reply, FIRST);
  // The same cookie for another Twilio account's identical pair.
  const r3 = await alice.send("hi", { cookie: good, extra: { AccountSid: "AC" + "1".repeat(32) } });
  assert.equal(r3.reply, FIRST);

  // Alice's own cookie still works for Alice.
  const r4 = await alice.send("hi", { cookie: good });
  assert.equal(r4.reply, nth(4));
});

// ---------------------------------------------------------------------------------------
// Key rotation.

test("SESSION_SECRET rotation: old cookies open under NEW,OLD; new ones are sealed with NEW", async () => {
  const old = await worker(); // SESSION_SECRET = the helper's, here the OLD key
  const rotating = await worker({ SESSION_SECRET: `${NEW_SECRET},${SESSION_SECRET}` });
  const fresh = await worker({ SESSION_SECRET: NEW_SECRET });
  const from = "+14155550191";

  const phone = new Phone(old.fetch, WEBHOOK, from);
  await converse(phone, 3);
  const oldCookie = phone.cookie;

  // Deploy "NEW,OLD": the conversation goes on, and the cookie is resealed.
  phone.fetchFn = rotating.fetch;
  const r4 = await phone.send("after rotation");
  assert.equal(r4.status, 200, r4.text);
  assert.equal(r4.reply, nth(4));
  const newCookie = phone.cookie;
  assert.notEqual(newCookie, oldCookie);
  assert.notEqual(newCookie.split(".")[1], oldCookie.split(".")[1], "sealed under another key id");

  // The resealed cookie opens under NEW alone…
  phone.fetchFn = fresh.fetch;
  const r5 = await phone.send("new key only");
  assert.equal(r5.reply, nth(5));
  // …and not under OLD alone: it really was sealed with NEW.
  const r5old = await new Phone(old.fetch, WEBHOOK, from).send("old key only", { cookie: newCookie });
  assert.equal(r5old.reply, FIRST);

  // Once OLD is dropped, a cookie sealed with it starts over (200, never an error).
  const rOld = await new Phone(fresh.fetch, WEBHOOK, from).send("stale", { cookie: oldCookie });
  assert.equal(rOld.status, 200, rOld.text);
  assert.equal(rOld.reply, FIRST);
});

// ---------------------------------------------------------------------------------------
// Retries.

test("a retried MessageSid gets the same answer and is not counted again", async () => {
  const w = await worker();
  const phone = new Phone(w.fetch, WEBHOOK, "+14155550201");
  assert.equal((await phone.send("one")).reply, FIRST);
  const beforeSecond = phone.cookie;
  const sid = newSid();
  const second = await phone.send("two", { sid });
  assert.equal(second.reply, nth(2));

  // The retry carries the cookie from after the first delivery (the same sid is its last).
  const retry = await phone.send("two", { sid });
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.text, second.text, "byte-identical TwiML");
  const retryAgain = await phone.send("two", { sid });
  assert.equal(retryAgain.reply, nth(2));

  // A retry racing the first delivery's cookie (Twilio still has the one before it).
  const raced = await phone.send("two", { sid, cookie: beforeSecond });
  assert.equal(raced.reply, nth(2));

  assert.equal((await phone.send("three")).reply, nth(3));
});

test("a stale cookie Twilio hands back (close messages racing) does not roll the count back", async () => {
  const w = await worker();
  const phone = new Phone(w.fetch, WEBHOOK, "+14155550202");
  assert.equal((await phone.send("one")).reply, FIRST);
  const afterFirst = phone.cookie;
  assert.equal((await phone.send("two")).reply, nth(2));
  assert.equal((await phone.send("three")).reply, nth(3));
  // Twilio sends message 4 with the cookie it had after message 1.
  const raced = await phone.send("four", { cookie: afterFirst });
  assert.equal(raced.reply, nth(4));
  assert.equal((await phone.send("five")).reply, nth(5));
});

// ---------------------------------------------------------------------------------------
// Configuration.

test("without TWILIO_AUTH_TOKEN webhooks get 500 'misconfigured: TWILIO_AUTH_TOKEN'", async () => {
  await withWorker({ TWILIO_AUTH_TOKEN: undefined }, async (w) => {
    const params = smsParams({ from: "+14155550211", body: "hi", sid: newSid() });
    for (const signature of [sign(WEBHOOK, params), undefined]) {
      const r = await rawPost(w, WEBHOOK, params, { signature });
      assert.equal(r.status, 500, r.text);
      assert.ok(r.text.startsWith("misconfigured: TWILIO_AUTH_TOKEN"), r.text);
      assert.equal(r.setCookie, null);
    }
    // The info page still answers.
    const info = await w.fetch(`${ORIGIN}/`);
    assert.equal(info.status, 200, await info.text());
  });
});

test("ALLOW_UNSIGNED_WEBHOOKS=true without a token accepts unsigned webhooks", async () => {
  await withWorker({ TWILIO_AUTH_TOKEN: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" }, async (w) => {
    const from = "+14155550221";
    const r1 = await rawPost(w, WEBHOOK, smsParams({ from, body: "hi", sid: newSid() }));
    assert.equal(r1.status, 200, r1.text);
    assert.equal(replyText(r1.text), FIRST);
    const cookie = r1.setCookie.split(";")[0];
    const r2 = await rawPost(w, WEBHOOK, smsParams({ from, body: "hi", sid: newSid() }), { cookie });
    assert.equal(replyText(r2.text), nth(2));
  });
});

for (const [variable, vars] of [
  ["SESSION_SECRET", { SESSION_SECRET: "too-short-secret" }],
  ["SESSION_SECRET", { SESSION_SECRET: `${NEW_SECRET},too-short-old-key` }],
  ["KNOWN_CALLERS", { KNOWN_CALLERS: '{"+14155550100": Rey}' }],
]) {
  test(`a bad ${variable} (${JSON.stringify(vars[variable])}) gives 500 'misconfigured: ${variable}'`, async () => {
    await withWorker(vars, async (w) => {
      const phone = new Phone(w.fetch, WEBHOOK, "+14155550231");
      const r = await phone.send("hi");
      assert.equal(r.status, 500, r.text);
      assert.ok(r.text.startsWith(`misconfigured: ${variable}`), r.text);
      assert.equal(r.setCookie, null);
      assert.ok(!r.text.includes(String(vars[variable])), "the value is never echoed");
      // The info page still answers, and says what is wrong.
      const info = await w.fetch(`${ORIGIN}/`);
      const text = await info.text();
      assert.equal(info.status, 200, text);
      assert.ok(text.includes(`misconfigured: ${variable}`), text);
      assert.ok(!text.includes(String(vars[variable])), "the value is never echoed");
    });
  });
}

// ---------------------------------------------------------------------------------------
// Reply text.

test("markup in a reply template is escaped and reads back as the same text", async () => {
  const w = await worker({ REPLY_FIRST: 'Tom <&> Jerry say "hi" to {from}' });
  const from = "+14155550241";
  const r = await new Phone(w.fetch, WEBHOOK, from).send("hi");
  const expected = `Tom <&> Jerry say "hi" to ${from}`;
  assert.equal(r.status, 200, r.text);
  assert.ok(!r.text.includes("<&>"), r.text);
  assert.ok(r.text.includes("Tom &lt;&amp;&gt; Jerry"), r.text);
  const inner = /<Message>([\s\S]*)<\/Message>/.exec(r.text)[1];
  assert.match(inner, /^(?:[^<>&]|&(?:lt|gt|amp|quot|apos);)*$/, "well-formed character data");
  assert.equal(r.reply, expected);
  assert.equal(r.text, officialTwiml(expected), "the same TwiML as twilio-node's MessagingResponse");
});

test("a reply over 1600 characters is cut to 1600 characters", async () => {
  // "ü" is one character and two UTF-8 bytes: the cut must count characters.
  const w = await worker({ REPLY_NEXT: "{count}: " + "üx".repeat(1000) });
  const phone = new Phone(w.fetch, WEBHOOK, "+14155550251");
  assert.equal((await phone.send("one")).reply, FIRST);
  const r = await phone.send("two");
  assert.equal(r.status, 200, r.text);
  const full = "2: " + "üx".repeat(1000);
  assert.equal([...r.reply].length, 1600);
  assert.equal(r.reply, full.slice(0, 1600));
  // The count still goes on.
  const r3 = await phone.send("three");
  assert.ok(r3.reply.startsWith("3: üx"), r3.reply.slice(0, 20));
});
