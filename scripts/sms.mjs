#!/usr/bin/env node
// A local Twilio: texts the worker exactly as Twilio's Messaging webhook would, so you can try it
// without a phone, a Twilio number or a tunnel.
//
//   npm run sms -- "hello"                         # one message from +14155550001
//   npm run sms -- --from +14155550002 "hi"        # another sender, another conversation
//   npm run sms -- --forget                        # forget the pair's cookie (Twilio: 4 h idle)
//   npm run sms -- --retry                         # Twilio's retry of the last message
//   npm run sms -- --cookie VALUE "next"           # continue from a sealed sms_state value
//   npm run sms -- --from-state FILE.json "next"   # continue from the state API's JSON
//   npm run chat                                   # interactive; /from NUMBER, /forget, /retry, /quit
//   npm run sms -- --inbox                         # what the worker sent the pair itself, unseen
//
// Each message is the full inbound parameter set with a fresh SM… sid, form-encoded, POSTed and
// signed with X-Twilio-Signature by the official `twilio` package, using TWILIO_AUTH_TOKEN from
// .dev.vars (or .dev.vars.example, which `npm run dev` copies). Like Twilio, the simulator keeps one
// cookie jar per To/From pair, honours Max-Age/Expires (capped at Twilio's 4 hours) and deletion,
// and sends the pair's cookies back on its next message. The jars live in .cache/sms-jar.json so
// consecutive commands continue the conversation; beside them, each pair's last message as sent
// (body, MessageSid, Cookie header), for --retry.
//
// What the worker sends itself through the Messages API (a started conversation's opening, a
// follow-up) reaches the person without a webhook: when `npm run dev` runs its local Messages API
// (no real account configured; scripts/dev-messages.mjs), the simulator shows those messages to
// the pair they were sent to with their delivery status: as they come in chat, and before the
// reply (or with --inbox) those that came since the last command. Which were shown is kept
// beside the jar (.cache/sms-jar.inbox.json).
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import twilio from "twilio";

import { FRAMEWORK, ROOT, WORKER_CRATE } from "./paths.mjs";
import { InboxReader, parseDotenv, standInUrl } from "./dev-messages.mjs";

export { FRAMEWORK, ROOT, WORKER_CRATE };
export const DEFAULT_FROM = "+14155550001";
export const DEFAULT_TO = "+15005550006";
export const DEFAULT_ACCOUNT = "AC" + "0".repeat(32);
export const DEFAULT_JAR = path.join(ROOT, ".cache", "sms-jar.json");
/** Twilio keeps a pair's cookies 4 hours after the last message, and caps longer lifetimes. */
export const TWILIO_COOKIE_SECONDS = 4 * 60 * 60;

// ---------------------------------------------------------------------------------------------
// Configuration read from the project: .dev.vars and wrangler.toml.

// parseDotenv: .dev.vars lines, shared with `npm run dev`'s Messages API (dev-messages.mjs).
export { parseDotenv };

/** A variable from .dev.vars, else from .dev.vars.example: { value, source } (both undefined if unset). */
export function devVar(key, root = ROOT) {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const file = path.join(root, name);
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const value = parseDotenv(text)[key];
    if (value) return { value, source: name };
  }
  return { value: undefined, source: undefined };
}

/** TWILIO_AUTH_TOKEN from .dev.vars, else from .dev.vars.example; with where it came from. */
export function defaultToken(root = ROOT) {
  const { value, source } = devVar("TWILIO_AUTH_TOKEN", root);
  return { token: value, source };
}

/** The local `wrangler dev` URL of the webhook, from wrangler.toml's [dev] port (default 8787). */
export function defaultUrl(root = ROOT) {
  let port = 8787;
  let protocol = "http";
  let host = "127.0.0.1";
  try {
    const toml = fs.readFileSync(path.join(root, "wrangler.toml"), "utf8");
    const section = /^\s*\[dev\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(toml);
    if (section) {
      const get = (key) =>
        new RegExp(`^\\s*${key}\\s*=\\s*["']?([^"'\\s#]+)["']?`, "m").exec(section[1])?.[1];
      if (/^\d+$/.test(get("port") ?? "")) port = Number(get("port"));
      if (get("local_protocol") === "https") protocol = "https";
      const ip = get("ip");
      if (ip && !["0.0.0.0", "*", "::", "[::]"].includes(ip)) host = ip.includes(":") ? `[${ip}]` : ip;
    }
  } catch {
    // no wrangler.toml: the defaults
  }
  return `${protocol}://${host}:${port}/sms`;
}

// ---------------------------------------------------------------------------------------------
// Cookies, kept the way Twilio keeps them: one jar per To/From pair.

/** Parses one Set-Cookie header into { name, value, maxAge?, expires? } (RFC 6265 §5.2), or null. */
export function parseSetCookie(header) {
  const [pair, ...attrs] = header.split(";");
  const eq = pair.indexOf("=");
  if (eq < 0) return null; // a nameless cookie: ignored, as user agents do
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (!name) return null;
  const cookie = { name, value, attributes: {} };
  for (const attr of attrs) {
    const i = attr.indexOf("=");
    const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? "" : attr.slice(i + 1).trim();
    cookie.attributes[key] = val;
    if (key === "max-age" && /^-?\d+$/.test(val)) cookie.maxAge = Number(val);
    if (key === "expires") {
      const t = Date.parse(val);
      if (!Number.isNaN(t)) cookie.expires = t;
    }
  }
  return cookie;
}

/** What Twilio would refuse (error 11206) or might not keep, as human-readable warnings. */
export function cookieWarnings(cookie) {
  const warnings = [];
  if (/[\t\r\n\v\f]/.test(cookie.name + cookie.value)) {
    warnings.push(`cookie ${cookie.name} contains tab/CR/LF/VT/FF: Twilio fails the request (error 11206)`);
  }
  const bytes = Buffer.byteLength(`${cookie.name}=${cookie.value}`);
  if (bytes > 4096) warnings.push(`cookie ${cookie.name} is ${bytes} bytes: over 4096, Twilio may drop it`);
  return warnings;
}

/**
 * Cookie jars by To/From pair, optionally persisted as JSON. `now` (ms) can be injected to
 * make time pass. Expiry: Max-Age (wins over Expires), else Expires, both capped at Twilio's
 * 4 hours; a cookie without either lives 4 hours after the pair's last message.
 * Max-Age ≤ 0 or an Expires in the past deletes the cookie.
 */
export class CookieJar {
  constructor({ file = null, now = Date.now, data = null } = {}) {
    this.file = file;
    this.now = now;
    this.warnings = [];
    this.pairs = data?.pairs ?? {};
    // Each pair's last message as sent ({ body, sid, cookie }), for a Twilio retry of it.
    this.last = data?.last ?? {};
    if (!data && file) this.#load();
  }

  static key(to, from) {
    return `${to}|${from}`;
  }

  #load() {
    let text;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch (e) {
      if (e.code !== "ENOENT") this.warnings.push(`cannot read jar ${this.file}: ${e.message}`);
      return;
    }
    try {
      const data = JSON.parse(text);
      if (data && typeof data.pairs === "object" && data.pairs !== null) this.pairs = data.pairs;
      else throw new Error("no pairs");
      if (data.last && typeof data.last === "object") this.last = data.last;
    } catch (e) {
      this.warnings.push(`ignoring unreadable jar ${this.file} (${e.message}); starting empty`);
      this.pairs = {};
    }
  }

  save() {
    if (!this.file) return;
    this.#prune();
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: 1, pairs: this.pairs, last: this.last }, null, 2) + "\n");
    fs.renameSync(tmp, this.file);
  }

  #prune() {
    const now = this.now();
    for (const [key, pair] of Object.entries(this.pairs)) {
      for (const [name, c] of Object.entries(pair.cookies ?? {})) {
        if (!(c.expires > now)) delete pair.cookies[name];
      }
      if (!pair.cookies || Object.keys(pair.cookies).length === 0) delete this.pairs[key];
    }
  }

  /** The pair's live cookies: [{ name, value, expires, session }]. */
  cookies(to, from) {
    const now = this.now();
    const pair = this.pairs[CookieJar.key(to, from)];
    if (!pair) return [];
    return Object.entries(pair.cookies ?? {})
      .filter(([, c]) => c.expires > now)
      .map(([name, c]) => ({ name, ...c }));
  }

  /** The Cookie header Twilio would send for the pair, or null. */
  header(to, from) {
    const live = this.cookies(to, from);
    return live.length ? live.map((c) => `${c.name}=${c.value}`).join("; ") : null;
  }

  /** A message went through: cookies without an explicit lifetime live 4 more hours. */
  touch(to, from) {
    const pair = this.pairs[CookieJar.key(to, from)];
    if (!pair) return;
    const now = this.now();
    for (const c of Object.values(pair.cookies ?? {})) {
      if (c.session && c.expires > now) c.expires = now + TWILIO_COOKIE_SECONDS * 1000;
    }
  }

  /** Stores the Set-Cookie headers of a response to the pair. Returns the parsed cookies. */
  store(to, from, setCookieHeaders) {
    const now = this.now();
    const cap = now + TWILIO_COOKIE_SECONDS * 1000;
    const key = CookieJar.key(to, from);
    const parsed = [];
    for (const header of setCookieHeaders) {
      const cookie = parseSetCookie(header);
      if (!cookie) continue;
      parsed.push(cookie);
      this.warnings.push(...cookieWarnings(cookie));
      let expires = cap;
      let session = true;
      if (cookie.maxAge !== undefined) {
        expires = cookie.maxAge <= 0 ? 0 : Math.min(now + cookie.maxAge * 1000, cap);
        session = false;
      } else if (cookie.expires !== undefined) {
        expires = Math.min(cookie.expires, cap);
        session = false;
      }
      const pair = (this.pairs[key] ??= { cookies: {} });
      pair.cookies ??= {};
      if (expires <= now) delete pair.cookies[cookie.name];
      else pair.cookies[cookie.name] = { value: cookie.value, expires, session };
    }
    return parsed;
  }

  /** Empties the pair's jar (what Twilio does after 4 hours without a message). */
  forget(to, from) {
    const key = CookieJar.key(to, from);
    const had = this.cookies(to, from).length > 0;
    delete this.pairs[key];
    delete this.last[key]; // Twilio's retries belong to the conversation forgotten
    return had;
  }

  /** Keeps the message about to be sent to the pair ({ body, sid, cookie }) for a retry. */
  remember(to, from, message) {
    this.last[CookieJar.key(to, from)] = { body: message.body, sid: message.sid, cookie: message.cookie ?? null };
  }

  /** The pair's last message as it was sent, or null. */
  lastMessage(to, from) {
    return this.last[CookieJar.key(to, from)] ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// TwiML

const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** XML character data → text: entities and character references decoded. */
export function unescapeXml(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (all, ref) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      try {
        return String.fromCodePoint(code);
      } catch {
        return all;
      }
    }
    return ENTITIES[ref] ?? all;
  });
}

/** The text content of an XML fragment: CDATA kept verbatim, tags dropped, entities decoded. */
function textContent(fragment) {
  let out = "";
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>/g;
  let last = 0;
  for (let m; (m = re.exec(fragment)); last = re.lastIndex) {
    out += unescapeXml(fragment.slice(last, m.index).replace(/<[^>]*>/g, "")) + m[1];
  }
  return out + unescapeXml(fragment.slice(last).replace(/<[^>]*>/g, ""));
}

/**
 * The messages of a TwiML <Response>: [{ body, media: [url] }]. `<Response/>` → [].
 * Throws on what Twilio could not parse (error 12100) — not a full XML validator.
 */
export function parseTwiml(xml) {
  if (/^\s+</.test(xml)) throw new Error("whitespace before the XML declaration (Twilio error 12100)");
  const doc = xml
    .replace(/^\uFEFF/, "")
    .replace(/^<\?xml[\s\S]*?\?>/, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .trim();
  if (/^<Response\b[^>]*\/>$/.test(doc)) return [];
  const root = /^<Response\b[^>]*>([\s\S]*)<\/Response\s*>$/.exec(doc);
  if (!root) throw new Error("no <Response> root element (Twilio error 12100)");
  const messages = [];
  const re = /<Message\b[^>]*?(?:\/>|>([\s\S]*?)<\/Message\s*>)/g;
  for (let m; (m = re.exec(root[1])); ) {
    const inner = m[1] ?? "";
    const media = [...inner.matchAll(/<Media\b[^>]*>([\s\S]*?)<\/Media\s*>/g)].map((x) => textContent(x[1]).trim());
    const body = /<Body\b[^>]*>([\s\S]*?)<\/Body\s*>/.exec(inner);
    const text = body ? body[1] : inner.replace(/<Media\b[^>]*>[\s\S]*?<\/Media\s*>/g, "");
    messages.push({ body: textContent(text), media });
  }
  return messages;
}

/** The reply texts of a response as a user would read them on their phone. */
export function replyLines(messages) {
  if (!messages.length) return ["(no reply)"];
  return messages.map((m) => m.body + m.media.map((u) => ` [media: ${u}]`).join(""));
}

// ---------------------------------------------------------------------------------------------
// Sending

/** A new Twilio-style message sid: SM + 32 hex digits. */
export function newMessageSid() {
  return "SM" + crypto.randomBytes(16).toString("hex");
}

// GSM 03.38: the basic table (one septet each) and the extension table (an escape pair, two).
const GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "\f^{}\\[~]|€";

/**
 * What a text costs, as the worker's `twilio::segments` computes it (both are checked against
 * src/twilio/segments/segments.json): { encoding: "gsm7" | "ucs2", count, units }. GSM-7 fits 160
 * septets in one segment, 153 per segment when split, an extension character taking two;
 * UCS-2 70 UTF-16 units, or 67 (an emoji is two). A character is never split across segments.
 */
export function segments(text) {
  const chars = [...text];
  const gsm = chars.every((c) => GSM7_BASIC.includes(c) || GSM7_EXTENSION.includes(c));
  const cost = gsm ? (c) => (GSM7_EXTENSION.includes(c) ? 2 : 1) : (c) => c.length;
  const [single, part] = gsm ? [160, 153] : [70, 67];
  const units = chars.reduce((sum, c) => sum + cost(c), 0);
  let count = units === 0 ? 0 : 1;
  if (units > single) {
    let used = 0;
    for (const c of chars) {
      if (used + cost(c) > part) {
        count += 1;
        used = 0;
      }
      used += cost(c);
    }
  }
  return { encoding: gsm ? "gsm7" : "ucs2", count, units };
}

/** "1 segment, GSM-7 (34 septets)": a text's cost as the simulator and the dev phone show it. */
export function describeSegments({ encoding, count, units }) {
  const [name, unit] = encoding === "gsm7" ? ["GSM-7", "septets"] : ["UCS-2", "UTF-16 units"];
  return `${count} segment${count === 1 ? "" : "s"}, ${name} (${units} ${unit})`;
}

/** The full inbound-SMS parameter set Twilio posts, in Twilio's order. */
export function inboundParams({ from, to, body, sid = newMessageSid(), account = DEFAULT_ACCOUNT }) {
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
    NumSegments: String(Math.max(1, segments(body).count)), // a media-only message is 1
    MessageSid: sid,
    AccountSid: account,
    From: from,
    ApiVersion: "2010-04-01",
  };
}

/**
 * Sends one inbound SMS to the worker the way Twilio does and keeps the pair's cookies.
 * Pass `jar` (a CookieJar) or `jarFile` (loaded and saved around the request; default none).
 * `cookie` overrides the Cookie header sent (null: none), as a Twilio retry resends the cookie
 * of the first attempt; the response's cookies are stored in the jar either way.
 * Resolves to { status, ok, contentType, headers, text, replies: [string], messages (each
 * { body, media, segments }), request,
 * setCookies, cookieSent, cookieBytes, warnings }. Network failures reject.
 */
export async function sendSms({
  url = defaultUrl(),
  token = defaultToken().token,
  from = DEFAULT_FROM,
  to = DEFAULT_TO,
  body = "",
  account = DEFAULT_ACCOUNT,
  sid = newMessageSid(),
  jar,
  jarFile,
  cookie,
  now = Date.now,
  fetch: fetchFn = globalThis.fetch,
} = {}) {
  if (!token) throw new Error("no auth token: pass --token, or set TWILIO_AUTH_TOKEN in .dev.vars");
  jar ??= new CookieJar({ file: jarFile ?? null, now });
  const params = inboundParams({ from, to, body, sid, account });
  const cookieSent = cookie === undefined ? jar.header(to, from) : cookie || null;
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    "user-agent": "TwilioProxy/1.1",
    accept: "*/*",
    "i-twilio-idempotency-token": crypto.randomUUID(),
    "x-twilio-signature": twilio.getExpectedTwilioSignature(token, url, params),
  };
  if (cookieSent) headers.cookie = cookieSent;
  const res = await fetchFn(url, {
    method: "POST",
    headers,
    body: new URLSearchParams(params).toString(),
    redirect: "manual",
  });
  const text = await res.text();
  const setCookies = typeof res.headers.getSetCookie === "function"
    ? res.headers.getSetCookie()
    : res.headers.get("set-cookie") ? [res.headers.get("set-cookie")] : [];
  const contentType = res.headers.get("content-type") ?? "";
  const warnings = [...jar.warnings];
  jar.warnings.length = 0;

  let messages = [];
  if (res.ok) {
    // Twilio stores cookies of successful responses; a failed webhook leaves the jar alone.
    jar.touch(to, from);
    jar.store(to, from, setCookies);
    warnings.push(...jar.warnings.splice(0));
    jar.save();
    if (Buffer.byteLength(text) > 64 * 1024) warnings.push("response over 64 kB (Twilio error 11750)");
    const mime = contentType.split(";")[0].trim().toLowerCase();
    if (res.status === 204 || text === "") {
      messages = [];
    } else if (mime === "text/xml" || mime === "application/xml") {
      try {
        messages = parseTwiml(text);
      } catch (e) {
        warnings.push(e.message);
      }
    } else if (mime === "text/plain") {
      messages = [{ body: text, media: [] }]; // Twilio sends a text/plain body as the reply
    } else {
      warnings.push(`Content-Type ${contentType || "(none)"} is not TwiML (Twilio error 12300)`);
    }
  }
  const stored = jar.header(to, from);
  return {
    status: res.status,
    statusText: res.statusText,
    ok: res.ok,
    contentType,
    headers: Object.fromEntries(res.headers),
    text,
    messages: messages.map((m) => ({ ...m, segments: segments(m.body) })),
    replies: replyLines(messages),
    request: { url, headers, params },
    setCookies,
    cookieSent,
    cookieStored: stored,
    cookieBytes: stored ? Buffer.byteLength(stored) : 0,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage: npm run sms -- [options] "message text"
       npm run chat -- [options]

Texts the local worker as Twilio would (signed, with the pair's cookies).

  --from NUMBER   sender (default ${DEFAULT_FROM})
  --to NUMBER     your Twilio number (default ${DEFAULT_TO})
  --url URL       webhook URL (default: wrangler.toml [dev] port, else http://127.0.0.1:8787/sms)
  --token TOKEN   auth token to sign with (default: TWILIO_AUTH_TOKEN in .dev.vars / .dev.vars.example)
  --account SID   AccountSid (default ${DEFAULT_ACCOUNT})
  --sid SID       MessageSid to use (default: a new one; reusing one with the current cookie is a
                  replay, not Twilio's retry: for that, --retry)
  --retry         send Twilio's retry of the pair's last message: its body, MessageSid and the
                  cookie that attempt carried (chat: /retry)
  --cookie VALUE  start from this sms_state cookie value (from the logs): it must open with
                  --secret for the pair, then goes into the pair's jar
  --from-state FILE
                  start from the state API's JSON (GET /conversations/state): sealed with
                  --secret for the pair (its from/to when present) into the jar
  --secret KEYS   SESSION_SECRET for --state, --cookie and --from-state (default .dev.vars)
  --jar FILE      cookie jar file (default .cache/sms-jar.json)
  --forget        empty the jar of this To/From pair first (Twilio forgets after 4 idle hours)
  --chat          interactive: type messages; /from NUMBER, /to NUMBER, /forget, /retry, /quit
  --verbose, -v   also print the request, the TwiML and the cookie size
  --inbox         print what the worker sent this pair itself through npm run dev's local Messages
                  API (a started conversation, follow-ups) since the last look, with each
                  message's delivery status, and send nothing. A text prints them too, before
                  its reply; chat prints them as they come.
  --messages-api URL
                  that local Messages API (default: the one npm run dev started, named in
                  .cache/dev-messages.json)
  --state         also print the conversation's state after each reply, opened with
                  SESSION_SECRET (.dev.vars) and decoded by the worker's own conversation;
                  builds the dev phone's inspector once
  --conversation NAME
                  the worker's CONVERSATION, for --state (default: .dev.vars, else
                  wrangler.toml [vars], else the worker's first)
  --help, -h      this text`;

/** A failed fetch of the webhook, explained (with how to start the local worker). */
export function describeNetworkError(e, url) {
  const code = e?.cause?.code ?? e?.code;
  const why = code ? `${code}` : e?.cause?.message ?? e?.message ?? String(e);
  return `cannot reach ${url} (${why}). Is the worker running? Start it with: npm run dev`;
}

function printVerbose(out, r, jarFile) {
  out.write(`> POST ${r.request.url}\n`);
  for (const [k, v] of Object.entries(r.request.headers)) out.write(`> ${k}: ${v}\n`);
  out.write(">\n");
  for (const [k, v] of Object.entries(r.request.params)) out.write(`>   ${k}=${v}\n`);
  out.write(`< HTTP ${r.status} ${r.statusText}\n`);
  out.write(`< content-type: ${r.contentType}\n`);
  for (const c of r.setCookies) out.write(`< set-cookie: ${c}\n`);
  out.write(`< ${r.text}\n`);
  out.write(
    r.cookieStored
      ? `cookie: ${Buffer.byteLength(r.cookieStored)} bytes stored for ${r.request.params.From} → ${r.request.params.To}` +
          (jarFile ? ` in ${jarFile}` : "") + "\n"
      : `cookie: none stored for ${r.request.params.From} → ${r.request.params.To}\n`,
  );
}

/** The pair's state as the worker's own conversation reads it (the dev phone's inspector). */
async function decodedState(opts) {
  const { buildInspector, Inspector, wranglerVar } = await import("./inspector.mjs");
  opts.showState.inspector ??= new Inspector(await buildInspector());
  const cookie = new CookieJar({ file: opts.jarFile }).cookies(opts.to, opts.from).find((c) => c.name === "sms_state");
  if (!cookie) return "none (no cookie stored)";
  const conversation = opts.conversation ?? (devVar("CONVERSATION").value || wranglerVar("CONVERSATION") || undefined);
  const answer = await opts.showState.inspector.inspect({
    secret: opts.secret ?? "",
    account_sid: opts.account,
    to: opts.to,
    from: opts.from,
    cookie: cookie.value,
    now: Math.floor(Date.now() / 1000),
    ...(conversation ? { conversation } : {}),
  });
  if (!answer.ok) return `cannot open the cookie (${answer.error})`;
  const { state, count } = answer.record;
  return `${JSON.stringify(state)} (message ${count})`;
}

// ---------------------------------------------------------------------------------------------
// The worker's own messages, from `npm run dev`'s local Messages API

/** Where the SIDs of the messages already shown are kept: beside the jar. */
function inboxFile(jarFile) {
  return jarFile.replace(/(\.json)?$/, ".inbox.json");
}

/**
 * The messages the worker sent the pair (`opts.from` is the person, `opts.to` our number)
 * through the local Messages API: `news()` prints those not shown before, then `watch()` keeps
 * printing new ones and their status as it moves.
 */
export class PairInbox {
  constructor(opts, { out, err }, { reader = new InboxReader({ url: opts.messagesApi }) } = {}) {
    Object.assign(this, { opts, out, err, reader });
    this.file = inboxFile(opts.jarFile);
    this.statuses = new Map(); // SID → the status last printed
  }

  #seen() {
    try {
      return JSON.parse(fs.readFileSync(this.file, "utf8")).seen ?? {};
    } catch {
      return {};
    }
  }

  #keep(seen) {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify({ version: 1, seen }, null, 2) + "\n");
  }

  /** Prints what came for the pair since the last look; returns how many messages were new. */
  async news() {
    const changed = await this.reader.poll();
    const key = CookieJar.key(this.opts.to, this.opts.from);
    const seen = this.#seen();
    const shown = new Set(seen[key] ?? []);
    let fresh = 0;
    for (const m of changed) {
      if (m.to !== this.opts.from || m.from !== this.opts.to) continue;
      if (!shown.has(m.sid)) {
        shown.add(m.sid);
        fresh += 1;
        const media = (m.media ?? []).map((u) => ` [media: ${u}]`).join("");
        this.out.write(`${m.body || (m.content_sid ? `(template ${m.content_sid})` : "")}${media}\n`);
        this.err.write(`(sent by the worker through the Messages API: ${m.sid}, ${m.status})\n`);
      } else if (this.statuses.has(m.sid) && this.statuses.get(m.sid) !== m.status) {
        this.err.write(`(${m.sid}: ${m.status})\n`);
      }
      this.statuses.set(m.sid, m.status);
    }
    if (fresh) {
      seen[key] = [...shown].slice(-200);
      this.#keep(seen);
    }
    return fresh;
  }

  /** Polls every `ms` until the returned function is called. */
  watch(ms = 500) {
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        await this.news();
      } finally {
        busy = false;
      }
    }, ms);
    return () => clearInterval(timer);
  }
}

/** One message (with `retry`, Twilio's retry of the pair's last one); prints the reply. Returns true on a 2xx answer. */
async function sendAndPrint(opts, { out, err, verbose, inbox }) {
  // What the worker sent the person since their last text came first.
  if (!opts.chatting) await (inbox ?? new PairInbox(opts, { out, err })).news();
  const jar = new CookieJar({ file: opts.jarFile });
  let message;
  if (opts.retry) {
    message = jar.lastMessage(opts.to, opts.from);
    if (!message) {
      err.write(`error: nothing to retry: no message sent from ${opts.from} to ${opts.to} with this jar (${opts.jarFile})\n`);
      return false;
    }
  } else {
    message = { body: opts.body, sid: opts.sid ?? newMessageSid(), cookie: jar.header(opts.to, opts.from) };
    jar.remember(opts.to, opts.from, message);
  }
  let r;
  try {
    r = await sendSms({ ...opts, body: message.body, sid: message.sid, cookie: message.cookie ?? null, jar });
  } catch (e) {
    err.write(`error: ${e instanceof TypeError || e?.cause ? describeNetworkError(e, opts.url) : e.message}\n`);
    return false;
  }
  if (verbose) printVerbose(err, r, opts.jarFile);
  for (const w of r.warnings) err.write(`warning: ${w}\n`);
  if (opts.showState && r.ok) err.write(`state: ${await decodedState(opts)}\n`);
  if (!r.ok) {
    err.write(`HTTP ${r.status} ${r.statusText}\n${r.text}${r.text.endsWith("\n") ? "" : "\n"}`);
    if (r.status === 403) err.write(`(signed with the token from ${opts.tokenSource ?? "--token"}; does the worker use the same TWILIO_AUTH_TOKEN?)\n`);
    return false;
  }
  if (opts.retry) err.write(`(Twilio's retry of ${message.sid}, with the cookie it carried)\n`);
  out.write(r.replies.join("\n") + "\n");
  for (const m of r.messages) err.write(`(${describeSegments(m.segments)})\n`);
  return true;
}

async function chat(opts, io) {
  const { out, err, input } = io;
  const interactive = Boolean(input.isTTY);
  const rl = readline.createInterface({ input, output: interactive ? out : undefined, terminal: interactive });
  rl.on("SIGINT", () => rl.close()); // Ctrl-C leaves, like /quit
  const prompt = () => {
    if (!interactive) return;
    rl.setPrompt(`${opts.from}> `);
    rl.prompt();
  };
  err.write(`Texting ${opts.to} as ${opts.from} via ${opts.url}. /from NUMBER, /to NUMBER, /forget, /retry, /quit\n`);
  // The worker's own messages to the pair (opts changes with /from and /to), as they come.
  const inbox = new PairInbox(opts, io);
  opts.chatting = true;
  await inbox.news();
  const stopWatching = inbox.watch();
  let ok = true;
  prompt();
  for await (const raw of rl) {
    const line = raw.replace(/\r$/, "");
    const [cmd, ...rest] = line.trim().split(/\s+/);
    if (cmd === "/quit" || cmd === "/exit") break;
    if (cmd === "/from" || cmd === "/to") {
      if (!rest[0]) err.write(`usage: ${cmd} NUMBER\n`);
      else {
        opts[cmd.slice(1)] = rest[0];
        err.write(`now texting ${opts.to} as ${opts.from}\n`);
      }
    } else if (cmd === "/forget") {
      const jar = new CookieJar({ file: opts.jarFile });
      jar.forget(opts.to, opts.from);
      jar.save();
      err.write(`forgot the cookies of ${opts.from} → ${opts.to}; the next message starts a new conversation\n`);
    } else if (cmd === "/retry") {
      ok = (await sendAndPrint({ ...opts, retry: true }, io)) && ok;
    } else if (cmd === "/help") {
      err.write("/from NUMBER, /to NUMBER, /forget, /retry (Twilio's retry of the last message), /quit; anything else is sent as a message\n");
    } else if (line.startsWith("/") && !line.startsWith("//")) {
      err.write(`unknown command ${cmd} (/help); start with // to send a text beginning with /\n`);
    } else {
      const body = line.startsWith("//") ? line.slice(1) : line;
      ok = (await sendAndPrint({ ...opts, body }, io)) && ok;
    }
    prompt();
  }
  rl.close();
  stopWatching();
  return ok;
}

/**
 * --cookie VALUE / --from-state FILE: makes that conversation the pair's cookie (for
 * --from-state, the JSON's from/to pick the pair). Prints what was loaded; false on an error.
 */
async function loadConversation(opts, v, err) {
  const { buildInspector, Inspector, parseLoad, loadIntoJar, wranglerVar } = await import("./inspector.mjs");
  let loaded;
  try {
    if (v.cookie !== undefined) {
      loaded = parseLoad(v.cookie);
      if (loaded.kind !== "cookie") throw new Error("--cookie takes a cookie value; for the state API's JSON use --from-state FILE");
    } else {
      let text;
      try {
        text = fs.readFileSync(v["from-state"], "utf8");
      } catch (e) {
        throw new Error(`cannot read --from-state ${v["from-state"]}: ${e.message}`);
      }
      loaded = parseLoad(text);
      if (loaded.kind !== "state") throw new Error(`--from-state ${v["from-state"]} is not JSON`);
      opts.from = loaded.from ?? opts.from;
      opts.to = loaded.to ?? opts.to;
    }
  } catch (e) {
    err.write(`error: ${e.message}\n`);
    return false;
  }
  opts.showState ??= { inspector: null };
  const keep = opts.showState;
  try {
    keep.inspector ??= new Inspector(await buildInspector());
    const conversation = opts.conversation ?? (devVar("CONVERSATION").value || wranglerVar("CONVERSATION") || undefined);
    const jar = new CookieJar({ file: opts.jarFile });
    const { inspection } = await loadIntoJar({
      loaded, jar, inspector: keep.inspector, secret: opts.secret, account: opts.account, to: opts.to, from: opts.from, conversation,
    });
    delete jar.last[CookieJar.key(opts.to, opts.from)]; // a retry belongs to the conversation replaced
    jar.save();
    const { state, count } = inspection.record;
    err.write(`loaded ${loaded.kind === "state" ? "the state" : "the cookie"} for ${opts.from} → ${opts.to}: ${JSON.stringify(state)} (message ${count})\n`);
    return true;
  } catch (e) {
    err.write(`error: ${e.message}\n`);
    return false;
  } finally {
    if (!v.state) {
      keep.inspector?.close();
      opts.showState = null;
    }
  }
}

export async function main(argv = process.argv.slice(2), io = { out: process.stdout, err: process.stderr, input: process.stdin }) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: "string", default: DEFAULT_FROM },
        to: { type: "string", default: DEFAULT_TO },
        url: { type: "string" },
        token: { type: "string" },
        account: { type: "string", default: DEFAULT_ACCOUNT },
        sid: { type: "string" },
        jar: { type: "string" },
        forget: { type: "boolean", default: false },
        chat: { type: "boolean", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        state: { type: "boolean", default: false },
        conversation: { type: "string" },
        retry: { type: "boolean", default: false },
        inbox: { type: "boolean", default: false },
        "messages-api": { type: "string" },
        cookie: { type: "string" },
        "from-state": { type: "string" },
        secret: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    io.err.write(`${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.out.write(USAGE + "\n");
    return 0;
  }
  const fromFile = defaultToken();
  const opts = {
    url: v.url ?? defaultUrl(),
    token: v.token ?? fromFile.token,
    tokenSource: v.token ? "--token" : fromFile.source,
    from: v.from,
    to: v.to,
    account: v.account,
    jarFile: path.resolve(v.jar ?? DEFAULT_JAR),
    // Shared by every message of a chat: the inspector, started once.
    showState: v.state ? { inspector: null } : null,
    conversation: v.conversation,
    secret: v.secret ?? devVar("SESSION_SECRET").value,
    messagesApi: v["messages-api"],
  };
  if (v.sid) opts.sid = v.sid;
  const usage = (why) => {
    io.err.write(`error: ${why}\n\n${USAGE}\n`);
    return 2;
  };
  if (v.retry && v.chat) return usage("--retry is for one message; in --chat type /retry");
  if (v.retry && (positionals.length || v.sid)) return usage("--retry resends the last message: give no text and no --sid");
  if (v.cookie !== undefined && v["from-state"] !== undefined) return usage("--cookie or --from-state, not both");
  if (!opts.token) {
    io.err.write("error: no auth token: pass --token, or set TWILIO_AUTH_TOKEN in .dev.vars\n");
    return 2;
  }
  if (v.forget) {
    const jar = new CookieJar({ file: opts.jarFile });
    const had = jar.forget(opts.to, opts.from);
    jar.save();
    io.err.write(`${had ? "forgot" : "no"} cookies of ${opts.from} → ${opts.to}\n`);
  }
  try {
    if (v.cookie !== undefined || v["from-state"] !== undefined) {
      const loaded = await loadConversation(opts, v, io.err);
      if (!loaded) return 1;
      if (!v.chat && positionals.length === 0) return 0;
    }
    if (v.chat) return (await chat(opts, { ...io, verbose: v.verbose })) ? 0 : 1;
    if (v.inbox) {
      if (!(opts.messagesApi ?? standInUrl())) {
        io.err.write("no local Messages API: npm run dev starts one when .dev.vars names no real Twilio account\n");
        return 1;
      }
      const fresh = await new PairInbox(opts, io).news();
      if (!fresh) io.err.write(`nothing new from the worker for ${opts.from}\n`);
      if (positionals.length === 0) return 0;
    }
    if (v.retry) return (await sendAndPrint({ ...opts, retry: true }, { ...io, verbose: v.verbose })) ? 0 : 1;
    if (positionals.length === 0) {
      if (v.forget) return 0;
      io.err.write(`error: no message text\n\n${USAGE}\n`);
      return 2;
    }
    const ok = await sendAndPrint({ ...opts, body: positionals.join(" ") }, { ...io, verbose: v.verbose });
    return ok ? 0 : 1;
  } finally {
    opts.showState?.inspector?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  // `npm run sms -- --help | head`: a closed pipe ends the program quietly.
  process.stdout.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await main();
}
