// End-to-end: hostile and broken input against the built worker in workerd (Miniflare).
// Every row checks a behaviour the worker must have: each assertion fails without it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import {
  startWorker,
  captureLogs,
  Phone,
  sign,
  smsParams,
  newSid,
  replyText,
  decodeSealedPayload,
  encodeSealedPayload,
  ACCOUNT_SID,
  SESSION_SECRET,
  TWILIO_NUMBER,
} from "./helpers/worker.mjs";

// Miniflare would otherwise fetch request.cf data from the internet at start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const WEBHOOK = "http://localhost/sms";
const MAX_BODY = 64 * 1024;
const FORM = "application/x-www-form-urlencoded";
const NEW = "Hello, thanks for the new message.";
const expected = (n) => (n === 1 ? NEW : `Hello, thanks for message number ${n}`);
const OTHER_SECRET = "rotated-session-secret-abcdefghijklmnopqrstuvwxyz";

let w; // the correctly configured worker most rows use
let logs;
const statuses = []; // every status a correctly configured worker answered

before(async () => {
  logs = captureLogs();
  // ANY: these rows probe GET webhooks as well as POST ones.
  w = await startWorker({ WEBHOOK_METHOD: "ANY" }, { handleRuntimeStdio: logs.handleRuntimeStdio });
});
after(async () => {
  await w?.dispose();
});

/** dispatchFetch on the main worker, recording the status. */
async function call(url, init, mf = w.mf) {
  const res = await mf.dispatchFetch(url, init);
  const text = await res.text();
  if (mf === w.mf) statuses.push({ status: res.status, what: `${init?.method ?? "GET"} ${url}` });
  return { status: res.status, text, headers: res.headers, setCookie: res.headers.get("set-cookie") };
}

let numberSeq = 0;
const nextNumber = () => `+1650555${String(1000 + (numberSeq += 1) * 53).slice(-4)}`;

function phoneOn(mf = w.mf, from = nextNumber()) {
  return new Phone(
    async (url, init) => {
      const res = await mf.dispatchFetch(url, init);
      if (mf === w.mf) statuses.push({ status: res.status, what: `phone ${init.method}` });
      return res;
    },
    WEBHOOK,
    from,
  );
}

/** A conversation `n` messages long; returns the phone, its cookies after each message. */
async function converse(n, mf = w.mf) {
  const phone = phoneOn(mf);
  const cookies = [];
  for (let i = 1; i <= n; i++) {
    const res = await phone.send(`message ${i}`);
    assert.equal(res.reply, expected(i));
    cookies.push(phone.cookie);
  }
  return { phone, cookies };
}

/** A signed, form-encoded POST of `params` (the body encoded as Twilio does). */
function signedPost(params, { headers = {}, body, url = WEBHOOK } = {}) {
  return call(url, {
    method: "POST",
    headers: {
      "content-type": FORM,
      "x-twilio-signature": sign(url, params),
      ...headers,
    },
    body: body ?? new URLSearchParams(params).toString(),
  });
}

const params = (extra = {}, from = nextNumber()) =>
  smsParams({ from, body: "hello", sid: newSid(), extra });

function assertShortText(res, pattern) {
  assert.match(res.headers.get("content-type"), /^text\/plain/);
  assert.match(res.text, pattern);
  assert.ok(res.text.length < 300, `short error text, got ${res.text.length} chars`);
  assert.equal(res.setCookie, null, "no Set-Cookie on an error");
}

// ---------------------------------------------------------------- body size and shape

/** Signed parameters whose form encoding is exactly `bytes` long. */
function paramsOfLength(bytes) {
  const p = params();
  p.Body = "";
  const base = new URLSearchParams(p).toString().length;
  p.Body = "a".repeat(bytes - base);
  assert.equal(new URLSearchParams(p).toString().length, bytes);
  return p;
}

function chunked(text, chunk = 16 * 1024) {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, (at += chunk)));
    },
  });
}

test("a body of exactly 64 KiB is served; one byte more is 413 (with Content-Length)", async () => {
  const ok = paramsOfLength(MAX_BODY);
  const body = new URLSearchParams(ok).toString();
  const res = await signedPost(ok, { headers: { "content-length": String(body.length) } });
  assert.equal(res.status, 200, res.text);
  assert.equal(replyText(res.text), NEW);

  const big = paramsOfLength(MAX_BODY + 1);
  const bigBody = new URLSearchParams(big).toString();
  const tooBig = await signedPost(big, { headers: { "content-length": String(bigBody.length) } });
  assert.equal(tooBig.status, 413);
  assertShortText(tooBig, /too large/);
});

test("an oversized body without Content-Length (chunked) is 413 too", async () => {
  const ok = paramsOfLength(MAX_BODY);
  const res = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, ok) },
    body: chunked(new URLSearchParams(ok).toString()),
    duplex: "half",
  });
  assert.equal(res.status, 200, res.text);

  const big = paramsOfLength(MAX_BODY + 1);
  const tooBig = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, big) },
    body: chunked(new URLSearchParams(big).toString()),
    duplex: "half",
  });
  assert.equal(tooBig.status, 413);
  assertShortText(tooBig, /too large/);

  // A much larger stream is refused too, without the worker falling over. The worker
  // answers after 64 KiB; the connection may then be reset under the rest of the upload.
  let huge;
  try {
    huge = await call(WEBHOOK, {
      method: "POST",
      headers: { "content-type": FORM },
      body: chunked("Body=" + "x".repeat(2 * 1024 * 1024)),
      duplex: "half",
    });
  } catch (e) {
    assert.match(String(e.cause?.code ?? e.cause ?? e), /ECONNRESET|EPIPE|other side closed/, String(e));
  }
  if (huge) assert.equal(huge.status, 413);
  const after = await signedPost(params());
  assert.equal(after.status, 200, "the worker still serves");
});

test("200 parameters are served; 201 are 400 (POST and GET)", async () => {
  const fill = (n) => {
    const p = params();
    for (let i = 0; Object.keys(p).length < n; i++) p[`Extra${i}`] = String(i);
    return p;
  };
  const ok = await signedPost(fill(200));
  assert.equal(ok.status, 200, ok.text);
  const tooMany = await signedPost(fill(201));
  assert.equal(tooMany.status, 400);
  assertShortText(tooMany, /too many parameters/);

  const query = new URLSearchParams(fill(201)).toString();
  const url = `${WEBHOOK}?${query}`;
  const get = await call(url, { headers: { "x-twilio-signature": sign(url, {}) } });
  assert.equal(get.status, 400);
});

// ---------------------------------------------------------------- malformed form encoding

/** The form body of `p` with the value of `name` replaced by raw `encoded` text. */
function withRawValue(p, name, encoded) {
  return Object.entries(p)
    .map(([k, v]) =>
      k === name ? `${k}=${encoded}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
    )
    .join("&");
}

test("percent-escapes that are not UTF-8 are 400, signed or not", async () => {
  for (const [name, bad] of [
    ["From", "%FF"],
    ["Body", "caf%C3%28"],
    ["Body", "%C0%AF"], // overlong encoding of "/"
    ["Body", "%ED%A0%80"], // a UTF-16 surrogate
  ]) {
    const p = params();
    // A lenient decoder would see U+FFFD: sign that, so only the check itself can refuse.
    const lenient = { ...p, [name]: decodeURIComponentLossy(bad) };
    const body = withRawValue(p, name, bad);
    const res = await call(WEBHOOK, {
      method: "POST",
      headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, lenient) },
      body,
    });
    assert.equal(res.status, 400, `${name}=${bad}: ${res.text}`);
    assertShortText(res, /malformed/);
    // Parsing comes before the signature check: no signature, still 400.
    const unsigned = await call(WEBHOOK, { method: "POST", headers: { "content-type": FORM }, body });
    assert.equal(unsigned.status, 400, `${name}=${bad} unsigned`);
  }
});

function decodeURIComponentLossy(s) {
  return new TextDecoder().decode(
    Uint8Array.from(s.replace(/%([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), (c) =>
      c.charCodeAt(0),
    ),
  );
}

test("raw bytes that are not UTF-8 are 400", async () => {
  const p = params();
  const lenient = { ...p, Body: "\uFFFD\uFFFD" };
  const text = withRawValue(p, "Body", "@@");
  const at = Buffer.from(text).indexOf("@@");
  const body = Buffer.from(text);
  body[at] = 0xff;
  body[at + 1] = 0xfe;
  const res = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, lenient) },
    body,
  });
  assert.equal(res.status, 400, res.text);
  assertShortText(res, /malformed|UTF-8/);
});

test("a real U+FFFD sent by the user is not mistaken for bad encoding", async () => {
  const p = { ...params(), Body: "\uFFFD is a replacement character" };
  const res = await signedPost(p);
  assert.equal(res.status, 200, res.text);
  assert.equal(replyText(res.text), NEW);
});

test("a stray % that is no escape is served or refused, never a 5xx", async () => {
  const p = params();
  const literal = { ...p, Body: "100%ZZ and %" };
  const res = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, literal) },
    body: withRawValue(p, "Body", "100%ZZ+and+%"),
  });
  assert.ok([200, 400].includes(res.status), `status ${res.status}: ${res.text}`);
});

test("From given twice is 400, not a guess", async () => {
  const p = params();
  const body = new URLSearchParams(p).toString() + "&From=%2B16505559999";
  const signature = sign(WEBHOOK, { ...p, From: [p.From, "+16505559999"] });
  const res = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": signature },
    body,
  });
  assert.equal(res.status, 400, res.text);
});

test("missing or empty From / To is 400 with a short clear text (signed properly)", async () => {
  for (const name of ["From", "To"]) {
    for (const variant of ["absent", "empty"]) {
      const p = params();
      if (variant === "absent") delete p[name];
      else p[name] = "";
      const res = await signedPost(p);
      assert.equal(res.status, 400, `${name} ${variant}: ${res.text}`);
      assertShortText(res, new RegExp(`^missing ${name}\\b`));
    }
  }
});

test("a POST that is not form-encoded is 415", async () => {
  const p = params();
  const body = new TextEncoder().encode(new URLSearchParams(p).toString());
  for (const type of ["text/plain", "application/json", "multipart/form-data; boundary=x", null]) {
    const headers = { "x-twilio-signature": sign(WEBHOOK, p) };
    if (type) headers["content-type"] = type;
    const res = await call(WEBHOOK, { method: "POST", headers, body });
    assert.equal(res.status, 415, `Content-Type ${type}: ${res.text}`);
    assertShortText(res, /Content-Type/);
  }
  // The form type is matched case-insensitively, with parameters.
  const res = await signedPost(p, {
    headers: { "content-type": "Application/X-WWW-Form-URLEncoded; charset=UTF-8" },
  });
  assert.equal(res.status, 200, res.text);
});

test("PUT, DELETE, PATCH and OPTIONS are 405 with Allow: GET, POST", async () => {
  const p = params();
  for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
    for (const url of [WEBHOOK, "http://localhost/"]) {
      const res = await call(url, {
        method,
        headers: { "content-type": FORM, "x-twilio-signature": sign(url, p) },
        body: method === "OPTIONS" ? undefined : new URLSearchParams(p).toString(),
      });
      assert.equal(res.status, 405, `${method} ${url}`);
      assert.equal(res.headers.get("allow"), "GET, POST");
      assert.equal(res.setCookie, null);
    }
  }
});

test("other paths are 404", async () => {
  for (const path of ["/admin", "/sms/x", "/.env", "/SMS"]) {
    const url = `http://localhost${path}`;
    const res = await signedPost(params(), { url });
    assert.equal(res.status, 404, path);
  }
});

// ---------------------------------------------------------------- hostile cookies

test("a huge Cookie header: ours inside is found, none means a fresh conversation", async () => {
  const { phone } = await converse(3);
  const junk = "junk=" + "j".repeat(16 * 1024);
  const res = await phone.send("4", { cookie: `${junk}; ${phone.cookie}` });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.reply, expected(4));
  const fresh = await phoneOn().send("hi", { cookie: junk });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.reply, NEW);
});

test("hundreds of cookies: ours among them continues, hundreds of bad ones of ours are harmless", async () => {
  const { phone, cookies } = await converse(3);
  const many = Array.from({ length: 300 }, (_, i) => `c${i}=v${i}`).join("; ");
  const res = await phone.send("4", { cookie: `${many}; ${cookies[2]}` });
  assert.equal(res.reply, expected(4));

  const ours = Array.from({ length: 300 }, (_, i) => `sms_state=e1.AAAAAAAA.${"A".repeat(40)}${i}.AAAA`);
  const started = Date.now();
  const flood = await phone.send("5", { cookie: `${ours.join("; ")}; ${cookies[2]}` });
  assert.equal(flood.status, 200, flood.text);
  assert.ok([NEW, expected(4)].includes(flood.reply), flood.reply);
  assert.ok(Date.now() - started < 2000, "no per-cookie work without bound");
});

test("duplicates of our cookie: the newer conversation wins, in either order", async () => {
  for (const newerFirst of [false, true]) {
    // A conversation of its own for each order: the second message would otherwise be
    // answered from what the isolate remembers of the first.
    const { phone, cookies } = await converse(4);
    const [, older, , newer] = cookies; // after messages 2 and 4
    const header = newerFirst ? `${newer}; ${older}` : `${older}; ${newer}`;
    const res = await phone.send("again", { cookie: header });
    assert.equal(res.reply, expected(5), header.slice(0, 30));
  }
});

test("bad percent-encoding in the Cookie header is ignored", async () => {
  const { phone, cookies } = await converse(3);
  const ok = await phone.send("4", { cookie: `bad=%ZZ%; other=%E0%A4%A; ${cookies[2]}` });
  assert.equal(ok.reply, expected(4));
  for (const header of ["sms_state=%E0%A4%A", "sms_state=%ZZ%", "sms_state=", ";;=;", "=", "sms_state"]) {
    const res = await phoneOn().send("hi", { cookie: header });
    assert.equal(res.status, 200, `${header}: ${res.text}`);
    assert.equal(res.reply, NEW, header);
  }
});

test("truncated, tampered, foreign or unknown-version cookies start afresh", async () => {
  const { phone, cookies } = await converse(3);
  const good = cookies[2];
  const [name, value] = good.split("=");
  const parts = value.split(".");
  const flip = (s, i) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  const variants = {
    "last char cut": value.slice(0, -1),
    "MAC cut": parts.slice(0, 3).join(".") + "." + parts[3].slice(0, 10),
    "payload cut": [parts[0], parts[1], parts[2].slice(0, parts[2].length >> 1), parts[3]].join("."),
    "no MAC": parts.slice(0, 3).join("."),
    "payload byte changed": [parts[0], parts[1], flip(parts[2], 20), parts[3]].join("."),
    "MAC byte changed": [parts[0], parts[1], parts[2], flip(parts[3], 3)].join("."),
    "not base64": [parts[0], parts[1], parts[2] + "!*", parts[3]].join("."),
    "v9 version": ["v9", ...parts.slice(1)].join("."),
    "v1 for e1": ["v1", ...parts.slice(1)].join("."),
    "p1 for e1": ["p1", ...parts.slice(1)].join("."),
    "unknown key id": [parts[0], "AAAAAAAA", parts[2], parts[3]].join("."),
  };
  for (const [what, v] of Object.entries(variants)) {
    const res = await phone.send("x", { cookie: `${name}=${v}` });
    assert.equal(res.status, 200, `${what}: ${res.text}`);
    assert.equal(res.reply, NEW, what);
  }
  // Carried to another sender: a fresh conversation there.
  const other = await phoneOn().send("hi", { cookie: good });
  assert.equal(other.reply, NEW);
  // The untouched cookie still continues.
  assert.equal((await phone.send("4", { cookie: good })).reply, expected(4));
});

// Sealing as the worker does (src/session.rs: HKDF-SHA256 with the salt below → a 64-byte
// MAC key, one SHA-256 block, and a 6-byte key id; HMAC-SHA256 over `v1.<kid>.<payload>`
// and the length-prefixed AccountSid, To, From), to forge states the worker must judge by
// their expiry. `payload` is the postcard bytes (see encodeSealedPayload). A forged valid
// one continuing proves the sealing right.
function sealV1(secret, payload, { account = ACCOUNT_SID, to = TWILIO_NUMBER, from }) {
  const salt = Buffer.from("sms-conversation-worker session");
  const macKey = Buffer.from(hkdfSync("sha256", secret, salt, "cookie mac v1", 64));
  const kid = Buffer.from(hkdfSync("sha256", secret, salt, "key id v1", 6)).toString("base64url");
  const signed = `v1.${kid}.${Buffer.from(payload).toString("base64url")}`;
  const mac = createHmac("sha256", macKey).update(signed);
  for (const field of [account, to, from]) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(Buffer.byteLength(field)));
    mac.update(len).update(field);
  }
  return `${signed}.${mac.digest("base64url")}`;
}

test("an expired cookie starts afresh; a live one continues", async () => {
  const phone = phoneOn();
  const now = Math.floor(Date.now() / 1000);
  const state = { seq: 41, count: 41, firstSeen: now - 3600, lastSeen: now - 60, lastMessageSid: "SM" + "f".repeat(32) };
  const payload = (expiresAt) => encodeSealedPayload("v1", { expiresAt, state });
  // The codec round-trips (so a failure below is the worker's, not the test's encoder).
  assert.deepEqual(decodeSealedPayload("v1", payload(now + 600)), {
    expiresAt: now + 600,
    state: { ...state, memory: {}, turns: [] },
  });
  const live = sealV1(SESSION_SECRET, payload(now + 600), { from: phone.from });
  const res = await phone.send("hi", { cookie: `sms_state=${live}` });
  assert.equal(res.reply, expected(42), "a well-sealed live state continues");
  const expired = sealV1(SESSION_SECRET, payload(now - 5), { from: phone.from });
  const old = await phone.send("hi", { cookie: `sms_state=${expired}` });
  assert.equal(old.status, 200);
  assert.equal(old.reply, NEW);
  // Sealed for another AccountSid.
  const foreign = sealV1(SESSION_SECRET, payload(now + 600), { from: phone.from, account: "AC" + "1".repeat(32) });
  assert.equal((await phone.send("hi", { cookie: `sms_state=${foreign}` })).reply, NEW);
  // Authentic, but a payload this build does not understand: live ones cut short (the
  // turns' length is missing) or with an Option tag of 2 where last_message_sid's 0/1
  // goes, and JSON as an earlier build sealed it (nonsense read as postcard).
  const good = encodeSealedPayload("v1", { expiresAt: now + 600, state: { ...state, lastMessageSid: null } });
  const badTag = Buffer.from(good);
  badTag[badTag.length - 3] = 2; // …, None (0), memory length (0), turns length (0)
  const odd = {
    truncated: good.subarray(0, good.length - 1),
    "bad Option tag": badTag,
    json: Buffer.from(JSON.stringify([now + 600, { s: 41, n: 41 }])),
  };
  for (const [what, bytes] of Object.entries(odd)) {
    assert.throws(() => decodeSealedPayload("v1", bytes), `${what}: not a valid payload`);
    const r = await phone.send("hi", { cookie: `sms_state=${sealV1(SESSION_SECRET, bytes, { from: phone.from })}` });
    assert.equal(r.status, 200, what);
    assert.equal(r.reply, NEW, what);
  }
});

test("a cookie sealed under a key no longer configured starts afresh; rotation keeps it", async () => {
  const { phone } = await converse(3); // sealed under SESSION_SECRET
  const sealedUnderOld = phone.cookie;
  const rotated = await startWorker({ SESSION_SECRET: `${OTHER_SECRET},${SESSION_SECRET}` });
  const replaced = await startWorker({ SESSION_SECRET: OTHER_SECRET });
  try {
    const onRotated = phoneOn(rotated.mf, phone.from);
    onRotated.cookie = sealedUnderOld;
    const res = await onRotated.send("4");
    assert.equal(res.reply, expected(4), "the old key still opens during rotation");
    assert.notEqual(cookieKid(onRotated.cookie), cookieKid(sealedUnderOld), "the new key seals");

    const onReplaced = phoneOn(replaced.mf, phone.from);
    const fresh = await onReplaced.send("4", { cookie: sealedUnderOld });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.reply, NEW, "the retired key opens nothing");
    const carried = await onReplaced.send("5", { cookie: onRotated.cookie });
    assert.equal(carried.reply, expected(5), "what the new key sealed opens without the old one");
  } finally {
    await rotated.dispose();
    await replaced.dispose();
  }
});

const cookieKid = (cookie) => cookie.split("=")[1].split(".")[1];

// ---------------------------------------------------------------- signatures

test("a missing or wrong X-Twilio-Signature of any shape is 403, with no cookie", async () => {
  const p = params();
  const body = new URLSearchParams(p).toString();
  const good = sign(WEBHOOK, p);
  const shapes = {
    missing: undefined,
    empty: "",
    spaces: "   ",
    "not base64": "not*base64!!",
    "wrong length": Buffer.alloc(10).toString("base64"),
    "too long": Buffer.alloc(200, 7).toString("base64"),
    "right length, wrong value": randomBytes(20).toString("base64"),
    "right value, one bit off": flipBit(good),
    "other token": sign(WEBHOOK, p, "some-other-auth-token"),
    "other URL": sign("https://evil.example/sms", p),
    "other params": sign(WEBHOOK, { ...p, Body: "something else" }),
    "no params": sign(WEBHOOK, {}),
    "hex instead of base64": Buffer.from(good, "base64").toString("hex"),
  };
  for (const [what, signature] of Object.entries(shapes)) {
    const headers = { "content-type": FORM };
    if (signature !== undefined) headers["x-twilio-signature"] = signature;
    const res = await call(WEBHOOK, { method: "POST", headers, body });
    assert.equal(res.status, 403, `${what}: ${res.text}`);
    assertShortText(res, /^forbidden/);
  }
  // The same request correctly signed is served.
  const res = await call(WEBHOOK, {
    method: "POST",
    headers: { "content-type": FORM, "x-twilio-signature": good },
    body,
  });
  assert.equal(res.status, 200, res.text);
});

function flipBit(b64) {
  const bytes = Buffer.from(b64, "base64");
  bytes[0] ^= 1;
  return bytes.toString("base64");
}

test("a GET webhook with a bad signature is 403", async () => {
  const url = `${WEBHOOK}?${new URLSearchParams(params()).toString()}`;
  for (const signature of [undefined, "", sign(`${url}&x=1`, {})]) {
    const headers = signature === undefined ? {} : { "x-twilio-signature": signature };
    const res = await call(url, { headers });
    assert.equal(res.status, 403, String(signature));
  }
  assert.equal((await call(url, { headers: { "x-twilio-signature": sign(url, {}) } })).status, 200);
});

// ---------------------------------------------------------------- misconfiguration

const misconfigurations = [
  ["SESSION_SECRET", { SESSION_SECRET: undefined }],
  ["SESSION_SECRET", { SESSION_SECRET: "too-short-a-secret" }, "too-short-a-secret"],
  ["SESSION_SECRET", { SESSION_SECRET: `${SESSION_SECRET},short-second-key` }, "short-second-key"],
  ["KNOWN_CALLERS", { KNOWN_CALLERS: '{"+14155550100": "Rey"' }],
  ["KNOWN_CALLERS", { KNOWN_CALLERS: '["+14155550100"]' }],
  ["CONVERSATION_TTL_SECONDS", { CONVERSATION_TTL_SECONDS: "4h" }],
  ["CONVERSATION_TTL_SECONDS", { CONVERSATION_TTL_SECONDS: "14401" }],
  ["CONVERSATION_TTL_SECONDS", { CONVERSATION_TTL_SECONDS: "59" }],
  ["ALLOW_UNSIGNED_WEBHOOKS", { ALLOW_UNSIGNED_WEBHOOKS: "maybe" }],
  ["HISTORY_TURNS", { HISTORY_TURNS: "lots" }],
  ["KV_TTL_SECONDS", { KV_TTL_SECONDS: "30" }],
];

for (const [variable, vars, secretValue] of misconfigurations) {
  test(`misconfigured ${variable} (${JSON.stringify(Object.values(vars)[0] ?? null)}) → 500 naming it, logged once`, async () => {
    const out = captureLogs();
    const bad = await startWorker(vars, { handleRuntimeStdio: out.handleRuntimeStdio });
    try {
      for (let i = 0; i < 2; i++) {
        const p = params();
        const res = await bad.mf.dispatchFetch(WEBHOOK, {
          method: "POST",
          headers: { "content-type": FORM, "x-twilio-signature": sign(WEBHOOK, p) },
          body: new URLSearchParams(p).toString(),
        });
        const text = await res.text();
        assert.equal(res.status, 500, text);
        assert.ok(text.startsWith(`misconfigured: ${variable}`), text);
        assert.equal(res.headers.get("set-cookie"), null);
        if (secretValue) assert.ok(!text.includes(secretValue), "the value is not echoed");
      }
      // The info page still answers, and says what is wrong.
      const info = await bad.mf.dispatchFetch("http://localhost/");
      const infoText = await info.text();
      assert.equal(info.status, 200);
      assert.match(infoText, new RegExp(variable));
      await waitForLog(out, variable);
      const lines = out.lines().filter((l) => l.includes('"event":"config"'));
      assert.equal(lines.length, 1, `one config log line per isolate:\n${out.text()}`);
      assert.match(lines[0], new RegExp(`misconfigured: ${variable}`));
      if (secretValue) assert.ok(!out.text().includes(secretValue), "the value is not logged");
      assert.doesNotMatch(out.text(), /panicked/);
    } finally {
      await bad.dispose();
    }
  });
}

test("no TWILIO_AUTH_TOKEN → 500 naming it, unless ALLOW_UNSIGNED_WEBHOOKS=true", async () => {
  const open = await startWorker({ TWILIO_AUTH_TOKEN: undefined });
  const unsigned = await startWorker({ TWILIO_AUTH_TOKEN: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" });
  try {
    const init = () => ({
      method: "POST",
      headers: { "content-type": FORM },
      body: new URLSearchParams(params()).toString(),
    });
    const res = await open.mf.dispatchFetch(WEBHOOK, init());
    const text = await res.text();
    assert.equal(res.status, 500);
    assert.ok(text.startsWith("misconfigured: TWILIO_AUTH_TOKEN"), text);
    const ok = await unsigned.mf.dispatchFetch(WEBHOOK, init());
    assert.equal(ok.status, 200, await ok.text());
  } finally {
    await open.dispose();
    await unsigned.dispose();
  }
});

async function waitForLog(out, needle, timeoutMs = 3000) {
  const started = Date.now();
  while (!out.text().includes(needle)) {
    if (Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------- no 5xx, ever

/** A deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("random hostile requests never get a 5xx from a configured worker", async () => {
  const rand = prng(20260701);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const randomText = (n) =>
    Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join("");
  const { phone, cookies } = await converse(3);
  const good = cookies[2].split("=")[1];
  const mutate = (v) => {
    const i = Math.floor(rand() * v.length);
    return pick([
      () => v.slice(0, i),
      () => v.slice(0, i) + pick(["A", "_", "-", ".", "=", "%", "\\"]) + v.slice(i + 1),
      () => v.slice(i) + v.slice(0, i),
      () => v.split(".").reverse().join("."),
      () => v + "." + v,
      () => v.replace(/^e1/, pick(["v1", "p1", "x1", ""])),
      () => encodeURIComponent(v),
      () => v.split(".").slice(0, 1 + Math.floor(rand() * 4)).join("."),
    ])();
  };
  for (let i = 0; i < 120; i++) {
    // Signed requests with mutated cookies: the cookie path is reached.
    const cookie = pick([
      () => `sms_state=${mutate(good)}`,
      () => `sms_state=${mutate(good)}; sms_state=${mutate(good)}`,
      () => `${randomText(20)}=${randomText(40)}; sms_state=${mutate(good)}`,
      () => `sms_state=${randomText(Math.floor(rand() * 200))}`,
    ])();
    const res = await phone.send(`fuzz ${i}`, { cookie });
    assert.equal(res.status, 200, `cookie ${JSON.stringify(cookie)}: ${res.text}`);
    // Fresh, or a continuation: of the cookie's count 3, or (a cookie that still opens is
    // older than what this isolate answered last) of the latest count.
    const continued = /^Hello, thanks for message number (\d+)$/.exec(res.reply ?? "");
    assert.ok(res.reply === NEW || (continued && Number(continued[1]) >= 4), `cookie ${JSON.stringify(cookie)}: ${res.reply}`);
  }
  for (let i = 0; i < 120; i++) {
    // Unsigned junk of every kind.
    const method = pick(["GET", "POST", "POST", "POST", "PUT", "HEAD"]);
    const path = pick(["/sms", "/", "/sms/", "/x", "/sms?" + randomText(10).replace(/[#\s]/g, "")]);
    const body =
      method === "GET" || method === "HEAD"
        ? undefined
        : pick([
            () => randomText(Math.floor(rand() * 300)),
            () => Uint8Array.from({ length: 64 }, () => Math.floor(rand() * 256)),
            () => new URLSearchParams(params()).toString() + "&" + randomText(30),
            () => "%".repeat(Math.floor(rand() * 50)),
          ])();
    const headers = {};
    if (rand() < 0.8) headers["content-type"] = pick([FORM, "text/plain", "", `${FORM}; charset=latin1`]);
    if (rand() < 0.5) headers["x-twilio-signature"] = randomText(28);
    if (rand() < 0.5) headers.cookie = `sms_state=${mutate(good)}`;
    const res = await call(`http://localhost${path}`, { method, headers, body });
    assert.ok(res.status < 500, `${method} ${path} ${JSON.stringify(headers)}: ${res.status} ${res.text}`);
  }
});

test("no response of a configured worker was a 5xx, and nothing panicked", async () => {
  assert.ok(statuses.length > 200, `${statuses.length} requests seen`);
  const errors = statuses.filter((s) => s.status >= 500);
  assert.deepEqual(errors, []);
  assert.doesNotMatch(logs.text(), /panicked|RuntimeError|unreachable/);
});
