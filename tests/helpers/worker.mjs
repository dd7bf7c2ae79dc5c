// Starts the built worker (build/index.js + its wasm, as `npm run build` leaves them) in
// workerd through Miniflare, the engine inside `wrangler dev`, and drives it like Twilio.
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
