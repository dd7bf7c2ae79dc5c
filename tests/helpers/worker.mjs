// Starts the built worker (build/index.js + its wasm, as `npm run build` leaves them) in
// workerd through Miniflare, the engine inside `wrangler dev`, and drives it like Twilio.
import crypto from "node:crypto";
import { Miniflare } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";
import twilio from "twilio";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const AUTH_TOKEN = "e2e-auth-token-0123456789abcdef";
export const SESSION_SECRET = "e2e-session-secret-0123456789abcdef-0123";
export const TWILIO_NUMBER = "+15005550006";
export const ACCOUNT_SID = "AC" + "0".repeat(32);

/**
 * Starts the worker. `vars` are merged over a signed default configuration; pass
 * `{ TWILIO_AUTH_TOKEN: undefined }` to drop a default. Options go to Miniflare
 * (e.g. `{ kvNamespaces: ["CONVERSATIONS"], port: 0 }`).
 */
export async function startWorker(vars = {}, options = {}) {
  const bindings = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET, ...vars };
  for (const [k, v] of Object.entries(bindings)) if (v === undefined) delete bindings[k];
  const mf = new Miniflare({
    name: "sms-conversation-worker",
    modules: true,
    scriptPath: path.join(ROOT, "build/index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-07-01",
    bindings,
    ...options,
  });
  const url = await mf.ready;
  return { mf, url, dispose: () => mf.dispose() };
}

/** Twilio's signature of `url` + sorted `params`, computed by the official SDK. */
export function sign(url, params = {}, token = AUTH_TOKEN) {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

/** The full inbound-SMS parameter set Twilio posts. */
export function smsParams({ from, body, sid, to = TWILIO_NUMBER, extra = {} }) {
  return {
    ToCountry: "US",
    ToState: "CA",
    SmsMessageSid: sid,
    NumMedia: "0",
    ToCity: "SAN FRANCISCO",
    FromZip: "94105",
    SmsSid: sid,
    FromState: "CA",
    SmsStatus: "received",
    FromCity: "SAN FRANCISCO",
    Body: body,
    FromCountry: "US",
    To: to,
    ToZip: "94105",
    NumSegments: "1",
    MessageSid: sid,
    AccountSid: ACCOUNT_SID,
    From: from,
    ApiVersion: "2010-04-01",
    ...extra,
  };
}

/** The worker's answer to the reset keyword. */
export const RESET_REPLY = "Your conversation has been reset.";
/** TwiML with no message: opt-outs, status callbacks, replays whose answer is not kept. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy (its value); throws after `timeoutMs`. */
export async function waitFor(check, what, timeoutMs = 5000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(15);
  }
}

let sidCounter = 0;
export function newSid() {
  sidCounter += 1;
  return "SM" + String(process.pid).padStart(8, "0") + String(sidCounter).padStart(24, "0");
}

/**
 * A phone texting the worker through Twilio: one cookie jar per To/From pair, like Twilio.
 * `fetch` is Miniflare's dispatchFetch (or global fetch for a real server).
 */
export class Phone {
  constructor(fetchFn, webhookUrl, from, { to = TWILIO_NUMBER, token = AUTH_TOKEN } = {}) {
    Object.assign(this, { fetchFn, webhookUrl, from, to, token });
    this.cookie = null; // "name=value" as Twilio would send it back
  }

  async send(body, { sid = newSid(), extra = {}, cookie = this.cookie } = {}) {
    const params = smsParams({ from: this.from, to: this.to, body, sid, extra });
    return this.post(params, { cookie });
  }

  async post(params, { cookie = this.cookie, signature, url = this.webhookUrl } = {}) {
    const headers = {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": signature ?? sign(url, params, this.token),
    };
    if (cookie) headers.cookie = cookie;
    const res = await this.fetchFn(url, {
      method: "POST",
      headers,
      body: new URLSearchParams(params).toString(),
    });
    return this.#receive(res);
  }

  async #receive(res) {
    const text = await res.text();
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) {
      const first = setCookie.split(";")[0];
      // Max-Age=0 deletes the cookie, as Twilio's jar would.
      this.cookie = /max-age=0(;|$)/i.test(setCookie) ? null : first;
    }
    return { status: res.status, text, headers: res.headers, setCookie, reply: replyText(text) };
  }
}

/** The text of the first <Message> of a TwiML document, unescaped; null when none. */
export function replyText(twiml) {
  const m = /<Message>([\s\S]*?)<\/Message>/.exec(twiml);
  if (!m) return null;
  return m[1]
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/**
 * Like `startWorker`, with more workers beside the built one (Miniflare's multi-worker
 * form), e.g. a worker whose default export builds a `wrappedBindings` object. `options`
 * go to the built worker; `shared` are Miniflare's instance-wide options (`log`,
 * `handleRuntimeStdio`, …). `mf.dispatchFetch` reaches the built worker (it is first).
 */
export async function startWorkerWithPeers(vars = {}, options = {}, peers = [], shared = {}) {
  const bindings = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, SESSION_SECRET, ...vars };
  for (const [k, v] of Object.entries(bindings)) if (v === undefined) delete bindings[k];
  const mf = new Miniflare({
    ...shared,
    workers: [
      {
        name: "sms-conversation-worker",
        modules: true,
        scriptPath: path.join(ROOT, "build/index.js"),
        modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
        compatibilityDate: "2026-07-01",
        bindings,
        ...options,
      },
      ...peers,
    ],
  });
  const url = await mf.ready;
  return { mf, url, dispose: () => mf.dispose() };
}

/** The lines of `logs` (from {@link captureLogs}) of `event` so far, parsed. */
export function events(logs, event) {
  return logs
    .lines()
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
}

/**
 * Captures what the worker prints (console.log → stdout, console.error → stderr) as
 * Miniflare's `handleRuntimeStdio` option; `text()` is everything so far.
 */
export function captureLogs() {
  const chunks = [];
  return {
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (d) => chunks.push(String(d)));
      stderr.on("data", (d) => chunks.push(String(d)));
    },
    text: () => chunks.join(""),
    lines: () => chunks.join("").split("\n").filter(Boolean),
  };
}

// ---------------------------------------------------------------------------------------
// The sealed payload, as the worker encodes it (src/session.rs `seal`, `seal_pointer`):
// postcard (serde, compact binary, not self-describing). A minimal codec for exactly the
// worker's types, so tests can read what a cookie or KV value holds and forge their own.
//
// postcard's rules, as used here:
// - u64: unsigned LEB128 varint (7 bits per byte, low bits first, high bit = more follows).
// - String: varint byte length + UTF-8 bytes. Vec<T>: varint length + items.
//   BTreeMap<String, String>: varint length + (key, value) pairs, in key order.
// - Option<T>: one byte 0 (None) or 1 followed by T.
// - structs and tuples: their fields/items back to back, in declaration order, no names.
//
// Payloads (the bytes under part 3 of `<version>.<kid>.<payload>.<mac>`, base64url; for
// `e1` the ChaCha20-Poly1305 plaintext, after the 12-byte nonce):
// - `v1`, `e1`: (expires_at: u64, ConversationState)
// - `p1`:       (expires_at: u64, kv key: String, summary: ConversationState)
// ConversationState (src/state.rs), in this order:
//   seq: u64, count: u64, first_seen: u64, last_seen: u64, last_message_sid: Option<String>,
//   memory: BTreeMap<String, String>, turns: Vec<Turn>
// Turn: at: u64, message_sid: String, inbound: String, reply: Vec<String>
//
// The decoder is strict (bad UTF-8, a bad Option tag, a varint past u64, truncation or
// trailing bytes all throw), so a change of layout in the worker fails the tests that read
// it rather than being misread. Integers are returned as Numbers (a value above 2^53 - 1 throws).
// ---------------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });

class PostcardReader {
  constructor(bytes) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.pos = 0;
  }
  byte() {
    if (this.pos >= this.bytes.length) throw new Error(`postcard: truncated at byte ${this.pos}`);
    return this.bytes[this.pos++];
  }
  u64() {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (value > 0xffff_ffff_ffff_ffffn) throw new Error("postcard: varint exceeds u64");
        if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`postcard: ${value} is not a safe integer`);
        return Number(value);
      }
    }
    throw new Error("postcard: varint longer than 10 bytes");
  }
  len() {
    const n = this.u64();
    if (n > this.bytes.length - this.pos) throw new Error(`postcard: length ${n} past the end`);
    return n;
  }
  string() {
    const n = this.len();
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  option(read) {
    const tag = this.byte();
    if (tag === 0) return null;
    if (tag === 1) return read();
    throw new Error(`postcard: Option tag ${tag}`);
  }
  vec(read) {
    const n = this.len();
    const items = [];
    for (let i = 0; i < n; i++) items.push(read());
    return items;
  }
  turn() {
    return {
      at: this.u64(),
      messageSid: this.string(),
      inbound: this.string(),
      reply: this.vec(() => this.string()),
    };
  }
  reply() {
    return this.vec(() => ({ body: this.string(), media: this.vec(() => this.string()) }));
  }
  /** The record of format 2 (src/record.rs), in the old state's shape plus its new fields. */
  record() {
    const seq = this.u64();
    const count = this.u64();
    const firstSeen = this.u64();
    const lastSeen = this.u64();
    const lastMessageSid = this.option(() => this.string());
    // Fingerprints of the recent MessageSids: 8 raw bytes each (a fixed array: no length).
    const seen = this.vec(() => Buffer.from([...Array(8)].map(() => this.byte())).toString("hex"));
    const lastReply = this.reply();
    const turns = this.vec(() => {
      const turn = { at: this.u64(), messageSid: this.string(), inbound: this.string() };
      const reply = this.reply();
      return { ...turn, reply: reply.map((m) => m.body), media: reply.flatMap((m) => m.media) };
    });
    const stateVersion = this.u64();
    const json = this.string();
    return {
      seq, count, firstSeen, lastSeen, seen, lastMessageSid,
      lastReply: lastReply.map((m) => m.body), turns, stateVersion,
      memory: json ? JSON.parse(json) : {},
    };
  }
  /**
   * The record's standing (src/record.rs `Standing`), sealed after the record since it was
   * added; null for a value sealed before (it ends with the record):
   *   opted_out: Option<u64>, last_inbound: u64, last_sent: u64,
   * then, from a build with the objects:
   *   deliveries: Vec<{ sid: String, status: String, error_code: Option<u32>, at: u64 }>
   */
  standing() {
    if (this.pos === this.bytes.length) return null;
    return {
      optedOut: this.option(() => this.u64()),
      lastInbound: this.u64(),
      lastSent: this.u64(),
      // Only a build with the objects seals them.
      deliveries:
        this.pos === this.bytes.length
          ? []
          : this.vec(() => ({
              sid: this.string(),
              status: this.string(),
              errorCode: this.option(() => this.u64()),
              at: this.u64(),
            })),
    };
  }
  state() {
    const seq = this.u64();
    const count = this.u64();
    const firstSeen = this.u64();
    const lastSeen = this.u64();
    const lastMessageSid = this.option(() => this.string());
    const memory = Object.fromEntries(this.vec(() => [this.string(), this.string()]));
    const turns = this.vec(() => this.turn());
    return { seq, count, firstSeen, lastSeen, lastMessageSid, memory, turns };
  }
  end() {
    if (this.pos !== this.bytes.length) {
      throw new Error(`postcard: ${this.bytes.length - this.pos} trailing bytes`);
    }
  }
}

/**
 * Decodes the postcard payload of a sealed value of version `kind` ("v1", "e1" after
 * decryption, or "p1"): `{ expiresAt, state }` for a state, `{ expiresAt, key, summary }`
 * for a pointer (each state as `{ seq, count, firstSeen, lastSeen, lastMessageSid,
 * memory, turns: [{ at, messageSid, inbound, reply: [...] }] }`). Throws on anything else.
 */
export function decodeSealedPayload(kind, bytes) {
  const r = new PostcardReader(bytes);
  let out;
  if (/^2[cko][se]$/.test(kind)) {
    out = { expiresAt: r.u64(), state: r.record() };
    out.state.standing = r.standing();
  } else if (/^2p[se]$/.test(kind)) {
    out = { expiresAt: r.u64(), key: r.string(), summary: r.record() };
    out.summary.standing = r.standing();
  } else if (kind === "v1" || kind === "e1") {
    out = { expiresAt: r.u64(), state: r.state() };
  } else if (kind === "p1") {
    out = { expiresAt: r.u64(), key: r.string(), summary: r.state() };
  } else {
    throw new Error(`unknown sealed version ${kind}`);
  }
  r.end();
  return out;
}

/**
 * The payload of a sealed value (`<header>.<kid>.<payload>.<mac>`), decrypted when the header
 * says so, by an implementation of the format independent of the worker's: HKDF-SHA256 of
 * the secret ("cookie aead v1"), ChaCha20-Poly1305 with the header, key id and the
 * length-prefixed AccountSid, To and From as associated data. Then decoded as above.
 * The MAC of signed values is not checked here (the worker's own tests do that).
 */
export function openSealed(sealed, { secret = SESSION_SECRET, from, to = TWILIO_NUMBER, account = ACCOUNT_SID }) {
  const [header, kid, payload, mac] = sealed.split(".");
  let bytes = Buffer.from(payload, "base64url");
  if (header.endsWith("e") || header === "e1") {
    const key = Buffer.from(
      crypto.hkdfSync("sha256", secret, "sms-conversation-worker session", "cookie aead v1", 32),
    );
    const pair = [account, to, from].flatMap((f) => {
      const b = Buffer.from(f, "utf8");
      const len = Buffer.alloc(8);
      len.writeBigUInt64BE(BigInt(b.length));
      return [len, b];
    });
    const aad = Buffer.concat([Buffer.from(`${header}.${kid}.`), ...pair]);
    const decipher = crypto.createDecipheriv("chacha20-poly1305", key, bytes.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(aad, { plaintextLength: bytes.length - 12 });
    decipher.setAuthTag(Buffer.from(mac, "base64url"));
    bytes = Buffer.concat([decipher.update(bytes.subarray(12)), decipher.final()]);
  }
  return decodeSealedPayload(header, bytes);
}

function pushU64(out, value) {
  let v = BigInt(value);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${value}`);
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? low | 0x80 : low);
  } while (v);
}

function pushString(out, s) {
  const b = Buffer.from(String(s), "utf8");
  pushU64(out, b.length);
  for (const x of b) out.push(x);
}

function pushState(out, s) {
  for (const f of ["seq", "count", "firstSeen", "lastSeen"]) pushU64(out, s[f] ?? 0);
  if (s.lastMessageSid == null) out.push(0);
  else {
    out.push(1);
    pushString(out, s.lastMessageSid);
  }
  // A BTreeMap serialises in key (byte) order.
  const memory = Object.entries(s.memory ?? {}).sort(([a], [b]) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  pushU64(out, memory.length);
  for (const [k, v] of memory) {
    pushString(out, k);
    pushString(out, v);
  }
  const turns = s.turns ?? [];
  pushU64(out, turns.length);
  for (const t of turns) {
    pushU64(out, t.at ?? 0);
    pushString(out, t.messageSid ?? "");
    pushString(out, t.inbound ?? "");
    const reply = t.reply ?? [];
    pushU64(out, reply.length);
    for (const m of reply) pushString(out, m);
  }
}

/**
 * The inverse of `decodeSealedPayload`: the postcard bytes (a Buffer) the worker would seal
 * for `{ expiresAt, state }` ("v1", "e1") or `{ expiresAt, key, summary }` ("p1").
 * Missing state fields default as in the worker's `ConversationState::default()`.
 */
export function encodeSealedPayload(kind, { expiresAt, state, key, summary }) {
  const out = [];
  pushU64(out, expiresAt);
  if (kind === "v1" || kind === "e1") {
    pushState(out, state ?? {});
  } else if (kind === "p1") {
    pushString(out, key);
    pushState(out, summary ?? {});
  } else {
    throw new Error(`unknown sealed version ${kind}`);
  }
  return Buffer.from(out);
}
