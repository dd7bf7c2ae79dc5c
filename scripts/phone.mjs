#!/usr/bin/env node
// The dev phone: a page at http://127.0.0.1:8788 that texts the local worker as Twilio would and
// shows, after each reply, what the worker remembered. Load… puts a sealed cookie value or the
// state API's JSON (sealed by sms-inspect) into a pair's jar to continue that conversation;
// Save transcript (GET /api/transcript) writes the conversation for TestPhone::replay.
// Messages the worker sends itself through the Messages API (a started conversation's opening,
// follow-ups) appear in their pair's conversation with their delivery status, read from the
// local Messages API `npm run dev` runs when no real account is configured (dev-messages.mjs);
// Start sends POST /conversations with OUTBOUND_API_KEY from .dev.vars.
//
//   npm run dev          # the worker, in one terminal
//   npm run phone        # the phone, in another; open http://127.0.0.1:8788
//
// Sending is the simulator's (scripts/sms.mjs): Twilio's parameters, signed by the official
// `twilio` package, one cookie jar per To/From pair honouring Max-Age. Cookies are opened by
// `sms-inspect`, the crate's own sealing code with the worker's own conversations (the
// inspector `worker!` defines in the worker's crate), generated under target/sms-inspect/ and
// built with cargo at start-up, then kept running. The server listens on 127.0.0.1 only and its JSON API answers only
// the page it served (a per-run token, the Host and the Origin are checked): it signs with the
// auth token.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import crypto from "node:crypto";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  FRAMEWORK,
  ROOT,
  DEFAULT_FROM,
  DEFAULT_TO,
  DEFAULT_ACCOUNT,
  CookieJar,
  sendSms,
  defaultUrl,
  defaultToken,
  devVar,
  describeNetworkError,
  describeSegments,
  newMessageSid,
  parseDotenv,
} from "./sms.mjs";
import { Inspector, buildInspector, wranglerVar, parseLoad, loadIntoJar, isSecretVar, STATE_COOKIE } from "./inspector.mjs";
import { InboxReader, readDevVars, standInUrl } from "./dev-messages.mjs";

export { Inspector, buildInspector, wranglerVar };

/** The worker's X-Dev-Fetches header: its outside calls as transcript fakes ([] without it). */
export function devFetches(header) {
  if (!header) return [];
  try {
    const steps = JSON.parse(decodeURIComponent(header));
    return Array.isArray(steps) ? steps.filter((s) => s && typeof s.fake === "object") : [];
  } catch {
    return [];
  }
}

export const DEFAULT_PORT = 8788;
export const DEFAULT_PHONE_JAR = path.join(ROOT, ".cache", "phone-jar.json");
/** Twilio refuses (or drops) cookies past this many bytes. */
export const COOKIE_LIMIT = 4096;
const STATIC = path.join(FRAMEWORK, "scripts", "phone");
/** What a transcript says it is (TestPhone::replay reads it). */
export const TRANSCRIPT_FORMAT = "sms-conversation-worker transcript 1";

const USAGE = `usage: npm run phone -- [options]

Serves the dev phone at http://127.0.0.1:${DEFAULT_PORT}: texts the worker as Twilio would and shows
the conversation's decoded state after each reply. Run the worker beside it (npm run dev).

  --port PORT     where the page is served, on 127.0.0.1 (default ${DEFAULT_PORT}; 0 picks a free one)
  --url URL       webhook URL (default: wrangler.toml [dev] port, else http://127.0.0.1:8787/sms)
  --token TOKEN   auth token to sign with (default: TWILIO_AUTH_TOKEN in .dev.vars / .dev.vars.example)
  --secret KEYS   SESSION_SECRET to open cookies with (default: .dev.vars / .dev.vars.example)
  --from NUMBER   first sender shown (default ${DEFAULT_FROM})
  --to NUMBER     first Twilio number shown (default ${DEFAULT_TO})
  --account SID   AccountSid (default ${DEFAULT_ACCOUNT})
  --conversation NAME
                  the worker's CONVERSATION, to decode its state (default: .dev.vars, else
                  wrangler.toml [vars], else the worker's default)
  --jar FILE      cookie jars (default .cache/phone-jar.json; "" keeps them in memory only)
  --var NAME=VALUE
                  a var the worker runs with, written into saved transcripts (repeatable;
                  besides those of .dev.vars that differ from wrangler.toml; never secrets)
  --messages-api URL
                  the local Messages API whose messages to show (default: the one npm run dev
                  started, named in .cache/dev-messages.json)
  --outbound-key KEY
                  the bearer token of POST /conversations, for Start (default: OUTBOUND_API_KEY
                  in .dev.vars)
  --help, -h      this text`;


// ---------------------------------------------------------------------------------------------
// The phone: conversations per To/From pair, in memory; cookies in the jar.

/**
 * Texts the worker for any number of To/From pairs, as Twilio would, and keeps what the page
 * shows: each pair's exchanges with the state after them, and its last message (body,
 * MessageSid and the Cookie header sent) for a retry.
 */
export class Phone {
  constructor({
    url, token, secret, account = DEFAULT_ACCOUNT, conversation, vars = {}, jarFile = null, inspector, fetch: fetchFn,
    messagesApi, outboundKey,
  }) {
    Object.assign(this, { url, token, secret, account, conversation, vars, inspector, fetchFn, outboundKey });
    // The messages the worker sent through the local Messages API, by SID → their event.
    this.inbox = new InboxReader({ url: messagesApi });
    this.incoming = new Map();
    // Time the phone was told to let pass (Wait): the jar ages with it, as Twilio's would.
    this.waited = 0;
    this.jar = new CookieJar({ file: jarFile || null, now: () => Date.now() + this.waited * 1000 });
    for (const w of this.jar.warnings.splice(0)) process.stderr.write(`[phone] warning: ${w}\n`);
    this.pairs = new Map(); // "to|from" → { to, from, events: [], last: { body, sid, cookie } }
    this.nextId = 1;
    this.queue = Promise.resolve();
  }

  /** Runs `fn` after every earlier action: one request at a time, like one phone. */
  serial(fn) {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  pair(to, from) {
    const key = CookieJar.key(to, from);
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = { to, from, events: [], last: null };
      this.pairs.set(key, pair);
    }
    return pair;
  }

  /** The pair's stored cookie, opened: { cookieBytes, cookie: bool, inspection }. */
  async snapshot(to, from) {
    const cookies = this.jar.cookies(to, from);
    const state = cookies.find((c) => c.name === STATE_COOKIE) ?? cookies[0];
    if (!state) return { cookie: false, cookieBytes: 0, inspection: null };
    const cookieBytes = Buffer.byteLength(`${state.name}=${state.value}`);
    const inspection = await this.inspector.inspect({
      secret: this.secret ?? "",
      account_sid: this.account,
      to,
      from,
      cookie: state.value,
      now: Math.floor(Date.now() / 1000),
      ...(this.conversation ? { conversation: this.conversation } : {}),
    });
    return { cookie: true, cookieName: state.name, cookieBytes, expires: state.expires, inspection };
  }

  #event(pair, event) {
    const e = { id: this.nextId++, at: Date.now(), ...event };
    pair.events.push(e);
    return e;
  }

  /**
   * Adds the messages the worker sent through the local Messages API since the last look to
   * their pairs (To the person, From our number), and updates the delivery status of those
   * shown: the person's phone shows them between the replies, in the order they came.
   */
  async syncInbox() {
    for (const m of await this.inbox.poll()) {
      const known = this.incoming.get(m.sid);
      if (known) {
        Object.assign(known, { status: m.status, statuses: m.statuses });
        continue;
      }
      const pair = this.pair(m.from, m.to);
      const e = this.#event(pair, {
        type: "incoming",
        at: m.at,
        sid: m.sid,
        body: m.body,
        media: m.media,
        contentSid: m.content_sid,
        status: m.status,
        statuses: m.statuses,
      });
      this.incoming.set(m.sid, e);
      // A message is seen a poll later than it came: in time order among the exchanges.
      pair.events.sort((a, b) => a.at - b.at);
    }
  }

  /**
   * Starts a conversation with the person (`from`) from our number (`to`): POST /conversations
   * with `fields` (a JSON object) besides `to` and `from`. The answer becomes a note; the
   * opening message comes through the Messages API.
   */
  async start({ to, from, fields = {} }) {
    if (!this.outboundKey) {
      throw new HttpError(409, "no OUTBOUND_API_KEY: set it in .dev.vars and restart npm run dev (POST /conversations needs it)");
    }
    const pair = this.pair(to, from);
    const url = new URL("/conversations", this.url).href;
    // At the time asked: the note comes before the message the start sent.
    const event = { type: "start", at: Date.now(), url, fields };
    try {
      const res = await (this.fetchFn ?? fetch)(url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.outboundKey}`, "content-type": "application/json" },
        body: JSON.stringify({ ...fields, to: from, from: to }),
      });
      const text = await res.text();
      Object.assign(event, { ok: res.ok, status: res.status, text });
    } catch (e) {
      Object.assign(event, { ok: false, status: 0, text: e instanceof TypeError || e?.cause ? describeNetworkError(e, url) : e.message });
    }
    this.#event(pair, event);
    await this.syncInbox();
  }

  /** Sends `body` (or, with `retry`, the pair's last message again). */
  async send({ to, from, body, retry = false }) {
    const pair = this.pair(to, from);
    if (retry && !pair.last) throw new HttpError(409, "nothing to retry: send a message first");
    // A retry is Twilio's: the same MessageSid, body and Cookie header as the first attempt.
    const message = retry
      ? { ...pair.last }
      : { body: String(body ?? ""), sid: newMessageSid(), cookie: this.jar.header(to, from) };
    pair.last = message;
    const started = Date.now();
    const event = { type: "exchange", body: message.body, sid: message.sid, retry, cookieSent: Boolean(message.cookie) };
    try {
      const r = await sendSms({
        url: this.url,
        token: this.token,
        account: this.account,
        from,
        to,
        body: message.body,
        sid: message.sid,
        cookie: message.cookie,
        jar: this.jar,
        ...(this.fetchFn ? { fetch: this.fetchFn } : {}),
      });
      const header = r.headers["x-state-source"];
      Object.assign(event, {
        fetches: devFetches(r.headers["x-dev-fetches"]),
        status: r.status,
        statusText: r.statusText,
        ok: r.ok,
        source: header || (r.cookieSent ? "cookie" : "new"),
        sourceFrom: header ? "header" : "guess",
        // Each reply's cost, labelled here so the page needs no copy of the rules.
        replies: r.ok
          ? r.messages.map((m) => ({ body: m.body, media: m.media, segments: { ...m.segments, label: describeSegments(m.segments) } }))
          : [],
        error: r.ok ? null : r.text,
        warnings: r.warnings,
      });
    } catch (e) {
      Object.assign(event, {
        ok: false,
        status: 0,
        error: e instanceof TypeError || e?.cause ? describeNetworkError(e, this.url) : e.message,
        replies: [],
        warnings: [],
      });
    }
    event.ms = Date.now() - started;
    event.snapshot = await this.snapshot(to, from);
    return this.#event(pair, event);
  }

  /** Drops the pair's cookies, as Twilio does after 4 idle hours. */
  async forget({ to, from }) {
    const pair = this.pair(to, from);
    const had = this.jar.forget(to, from);
    this.jar.save();
    pair.last = null; // Twilio's retries belong to the conversation that was forgotten
    return this.#event(pair, {
      type: "note",
      text: had ? "cookie forgotten: the next message starts a new conversation" : "no cookie to forget",
      snapshot: await this.snapshot(to, from),
    });
  }

  /**
   * Makes a sealed cookie value, or the state API's JSON, the cookie of a pair (the JSON's
   * `from`/`to` when it has them, else `to`/`from`): the next message continues that
   * conversation. Resolves to the pair; a value that does not open is a 422.
   */
  async load({ to, from, value }) {
    let loaded;
    try {
      loaded = parseLoad(value);
    } catch (e) {
      throw new HttpError(400, e.message);
    }
    to = loaded.to ?? to;
    from = loaded.from ?? from;
    for (const [n, what] of [[to, "To"], [from, "From"]]) {
      if (!NUMBER.test(n)) throw new HttpError(400, `bad ${what} number in the JSON: ${JSON.stringify(n).slice(0, 80)}`);
    }
    try {
      await loadIntoJar({
        loaded, jar: this.jar, inspector: this.inspector, secret: this.secret, account: this.account, to, from,
        conversation: this.conversation, now: this.jar.now(),
      });
    } catch (e) {
      throw new HttpError(422, e.message);
    }
    const pair = this.pair(to, from);
    pair.last = null; // a retry belongs to the conversation that was replaced
    const snapshot = await this.snapshot(to, from);
    const count = snapshot.inspection?.record?.count;
    const what = loaded.kind === "state" ? "the state API's JSON, sealed with the local secret" : "a cookie value";
    this.#event(pair, { type: "note", loaded: loaded.kind, text: `loaded ${what} (message ${count}): the next message continues it`, snapshot });
    return { to, from };
  }

  /** Lets `seconds` pass for the pair: recorded in the transcript, and the jar ages (4 h drops its cookies). */
  async wait({ to, from, seconds }) {
    const pair = this.pair(to, from);
    this.waited += seconds;
    return this.#event(pair, { type: "note", wait: seconds, text: `waited ${seconds} s`, snapshot: await this.snapshot(to, from) });
  }

  /**
   * The pair's conversation as a transcript TestPhone::replay reads: its messages, Twilio's
   * retries and waits, in order, each message after the fakes of the outside calls it made
   * (the worker reports them with DEV_RECORD_FETCHES=true; a fake already given is not
   * repeated). Failed messages, forgets and loads are left out.
   */
  transcript(to, from) {
    const pair = this.pair(to, from);
    const steps = [];
    const given = new Map(); // "METHOD url" -> the fake's JSON, as replay answers it from then on
    for (const e of pair.events) {
      if (e.type === "note" && e.wait) steps.push({ wait: e.wait });
      if (e.type !== "exchange" || !e.ok) continue;
      for (const step of e.fetches ?? []) {
        const key = `${step.fake.method} ${step.fake.url}`;
        if (given.get(key) === JSON.stringify(step.fake)) continue;
        given.set(key, JSON.stringify(step.fake));
        steps.push(step);
      }
      const step = e.retry ? { retry: true } : { text: e.body };
      step.replies = e.replies.map((r) => r.body);
      const media = e.replies.flatMap((r) => r.media ?? []);
      if (media.length) step.media = media;
      steps.push(step);
    }
    return { format: TRANSCRIPT_FORMAT, conversation: this.conversation ?? wranglerVar("CONVERSATION") ?? "counter", vars: this.vars, from, to, steps };
  }

  /** What the page shows of a pair: its events and its stored cookie now. */
  async view(to, from) {
    await this.syncInbox();
    const pair = this.pair(to, from);
    return {
      to,
      from,
      events: pair.events,
      canRetry: Boolean(pair.last),
      current: await this.snapshot(to, from),
      pairs: this.list(),
    };
  }

  /** Every pair with a conversation or a cookie. */
  list() {
    const keys = new Set([...this.pairs.keys(), ...Object.keys(this.jar.pairs)]);
    return [...keys].sort().map((key) => {
      const [to, from] = key.split("|");
      const pair = this.pairs.get(key);
      return { to, from, messages: pair?.events.filter((e) => e.type === "exchange" || e.type === "incoming").length ?? 0 };
    });
  }
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' http: https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};
const NUMBER = /^\+?[0-9A-Za-z:._-]{1,64}$/; // E.164, short codes, or whatsapp:+1…-style ids

/**
 * Starts the phone's HTTP server on 127.0.0.1:`port`. Resolves to { server, url, phone, close }.
 */
export async function startPhone({
  port = DEFAULT_PORT,
  url = defaultUrl(),
  token,
  secret,
  from = DEFAULT_FROM,
  to = DEFAULT_TO,
  account = DEFAULT_ACCOUNT,
  conversation,
  jarFile = DEFAULT_PHONE_JAR,
  vars = {},
  inspector = new Inspector(),
  messagesApi,
  outboundKey,
} = {}) {
  const phone = new Phone({ url, token, secret, account, conversation, vars, jarFile, inspector, messagesApi, outboundKey });
  const apiToken = crypto.randomBytes(24).toString("base64url");
  let origin; // set once listening

  const config = () => ({
    url, from, to, account, cookieLimit: COOKIE_LIMIT, secret: Boolean(secret),
    canStart: Boolean(outboundKey), messagesApi: messagesApi ?? standInUrl(),
  });

  async function api(req, body) {
    const u = new URL(req.url, origin);
    const num = (v, what) => {
      const s = String(v ?? "").trim();
      if (!NUMBER.test(s)) throw new HttpError(400, `bad ${what} number: ${JSON.stringify(s).slice(0, 80)}`);
      return s;
    };
    if (req.method === "GET" && u.pathname === "/api/config") return config();
    if (req.method === "GET" && u.pathname === "/api/pair") {
      return phone.serial(() => phone.view(num(u.searchParams.get("to"), "To"), num(u.searchParams.get("from"), "From")));
    }
    if (req.method === "GET" && u.pathname === "/api/transcript") {
      return phone.serial(() => phone.transcript(num(u.searchParams.get("to"), "To"), num(u.searchParams.get("from"), "From")));
    }
    if (req.method !== "POST") throw new HttpError(405, "method not allowed");
    const pairTo = num(body.to, "To");
    const pairFrom = num(body.from, "From");
    const act = async (fn) => {
      await fn();
      return phone.view(pairTo, pairFrom);
    };
    switch (u.pathname) {
      case "/api/send":
        if (typeof body.body !== "string") throw new HttpError(400, "body must be a string");
        if (body.body.length > 10_000) throw new HttpError(400, "message too long");
        return phone.serial(() => act(() => phone.send({ to: pairTo, from: pairFrom, body: body.body })));
      case "/api/retry":
        return phone.serial(() => act(() => phone.send({ to: pairTo, from: pairFrom, retry: true })));
      case "/api/forget":
        return phone.serial(() => act(() => phone.forget({ to: pairTo, from: pairFrom })));
      case "/api/wait": {
        const seconds = body.seconds;
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > 30 * 86400) {
          throw new HttpError(400, "seconds must be a whole number from 1 to 2592000");
        }
        return phone.serial(() => act(() => phone.wait({ to: pairTo, from: pairFrom, seconds })));
      }
      case "/api/start": {
        const fields = body.fields ?? {};
        if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
          throw new HttpError(400, "fields must be a JSON object");
        }
        return phone.serial(() => act(() => phone.start({ to: pairTo, from: pairFrom, fields })));
      }
      case "/api/load":
        if (typeof body.value !== "string") throw new HttpError(400, "value must be a string");
        return phone.serial(async () => {
          const { to, from } = await phone.load({ to: pairTo, from: pairFrom, value: body.value });
          return phone.view(to, from);
        });
      default:
        throw new HttpError(404, "no such API");
    }
  }

  /** Only the page this server served may use it: same Host, same Origin, the run's token. */
  function checkCaller(req, isApi) {
    const host = req.headers.host ?? "";
    const { port: p } = new URL(origin);
    if (host !== `127.0.0.1:${p}` && host !== `localhost:${p}`) throw new HttpError(421, "unexpected Host");
    if (!isApi) return;
    const o = req.headers.origin;
    if (o !== undefined && o !== `http://${host}`) throw new HttpError(403, "cross-origin request refused");
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin") throw new HttpError(403, "cross-site request refused");
    const given = String(req.headers["x-phone-token"] ?? "");
    const a = Buffer.from(given);
    const b = Buffer.from(apiToken);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) throw new HttpError(403, "missing or wrong X-Phone-Token");
    if (req.method === "POST" && !/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      throw new HttpError(415, "JSON only");
    }
  }

  function send(res, status, type, data) {
    res.writeHead(status, { "content-type": type, ...SECURITY_HEADERS });
    res.end(data);
  }

  const server = http.createServer((req, res) => {
    const isApi = (req.url ?? "").startsWith("/api/");
    (async () => {
      checkCaller(req, isApi);
      if (isApi) {
        let body = {};
        if (req.method === "POST") {
          let raw = "";
          for await (const chunk of req) {
            raw += chunk;
            if (raw.length > 64 * 1024) throw new HttpError(413, "request too large");
          }
          try {
            body = JSON.parse(raw || "{}") ?? {};
          } catch {
            throw new HttpError(400, "bad JSON");
          }
        }
        const out = await api(req, body);
        return send(res, 200, "application/json; charset=utf-8", JSON.stringify(out));
      }
      if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "method not allowed");
      const name = { "/": "index.html", "/app.js": "app.js", "/app.css": "app.css" }[new URL(req.url, origin).pathname];
      if (!name) throw new HttpError(404, "not found");
      let data = fs.readFileSync(path.join(STATIC, name), "utf8");
      if (name === "index.html") data = data.replace("__PHONE_TOKEN__", apiToken);
      send(res, 200, TYPES[path.extname(name)], data);
    })().catch((e) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (status === 500) process.stderr.write(`[phone] ${e.stack ?? e}\n`);
      if (!res.headersSent) send(res, status, "application/json; charset=utf-8", JSON.stringify({ error: e.message }));
      else res.end();
    });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  origin = `http://127.0.0.1:${server.address().port}`;
  return {
    server,
    url: origin + "/",
    phone,
    close: () =>
      new Promise((resolve) => {
        inspector.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Command line

/** .dev.vars' settings for sending through the Messages API, left out of transcripts. */
const LOCAL_SENDING = ["TWILIO_ACCOUNT_SID", "TWILIO_API_BASE_URL"];

/**
 * The vars a transcript names: those of .dev.vars (what `npm run dev` adds) that differ from
 * wrangler.toml's [vars] defaults, then each `--var NAME=VALUE`; never a secret, never
 * CONVERSATION (the transcript's own field).
 */
export function transcriptVars(given = [], root = ROOT) {
  const vars = {};
  let text = "";
  try {
    text = fs.readFileSync(path.join(root, ".dev.vars"), "utf8");
  } catch {
    // no .dev.vars: the defaults
  }
  for (const [k, val] of Object.entries(parseDotenv(text))) {
    // Where the worker's own messages go (the local account, the local Messages API) is not
    // the conversation's: a replay sends nothing.
    if (LOCAL_SENDING.includes(k)) continue;
    if (!isSecretVar(k) && k !== "CONVERSATION" && wranglerVar(k, root) !== undefined && wranglerVar(k, root) !== val) vars[k] = val;
  }
  for (const item of given) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(item);
    if (!m) throw new Error(`bad --var ${JSON.stringify(item).slice(0, 80)}: NAME=VALUE`);
    if (isSecretVar(m[1])) throw new Error(`--var ${m[1]}: secrets never go into transcripts`);
    if (m[1] !== "CONVERSATION") vars[m[1]] = m[2];
  }
  return vars;
}

export async function main(argv = process.argv.slice(2)) {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: String(DEFAULT_PORT) },
        url: { type: "string" },
        token: { type: "string" },
        secret: { type: "string" },
        from: { type: "string", default: DEFAULT_FROM },
        to: { type: "string", default: DEFAULT_TO },
        account: { type: "string", default: DEFAULT_ACCOUNT },
        conversation: { type: "string" },
        jar: { type: "string" },
        var: { type: "string", multiple: true, default: [] },
        "messages-api": { type: "string" },
        "outbound-key": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (!/^\d+$/.test(v.port) || Number(v.port) > 65535) {
    process.stderr.write(`error: bad --port ${v.port}\n`);
    return 2;
  }
  const token = v.token ? { token: v.token, source: "--token" } : defaultToken();
  const secret = v.secret ? { value: v.secret, source: "--secret" } : devVar("SESSION_SECRET");
  if (!token.token) {
    process.stderr.write("error: no auth token: pass --token, or set TWILIO_AUTH_TOKEN in .dev.vars\n");
    return 2;
  }
  if (!secret.value) process.stderr.write("[phone] warning: no SESSION_SECRET (--secret or .dev.vars): cookies cannot be opened\n");

  let bin;
  try {
    bin = await buildInspector();
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n`);
    return 1;
  }
  let vars;
  try {
    vars = transcriptVars(v.var);
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n`);
    return 2;
  }
  const url = v.url ?? defaultUrl();
  const jarFile = v.jar === undefined ? DEFAULT_PHONE_JAR : v.jar === "" ? null : path.resolve(v.jar);
  let phone;
  try {
    phone = await startPhone({
      port: Number(v.port),
      url,
      token: token.token,
      secret: secret.value,
      from: v.from,
      to: v.to,
      account: v.account,
      conversation: v.conversation ?? (devVar("CONVERSATION").value || wranglerVar("CONVERSATION") || undefined),
      jarFile,
      vars,
      inspector: new Inspector(bin),
      messagesApi: v["messages-api"],
      // The worker's own: wrangler dev reads .dev.vars (or the example it was copied from).
      outboundKey: v["outbound-key"] ?? readDevVars().OUTBOUND_API_KEY,
    });
  } catch (e) {
    const hint = e.code === "EADDRINUSE" ? ` (port ${v.port} is taken: pass --port)` : "";
    process.stderr.write(`error: cannot listen on 127.0.0.1:${v.port}: ${e.message}${hint}\n`);
    return 1;
  }
  process.stderr.write(
    `[phone] texting ${url}, signed with the token from ${token.source}, cookies opened with the secret from ${secret.source ?? "(none)"}\n` +
      `[phone] cookie jars: ${jarFile ?? "in memory"}\n`,
  );
  // The test harness (and people) read this line.
  process.stdout.write(`Dev phone: ${phone.url}\n`);
  const stop = () => {
    phone.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return undefined; // keeps running
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const code = await main();
  if (code !== undefined) process.exitCode = code;
}
