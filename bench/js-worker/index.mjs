// The webhook's job as a plain JavaScript worker with WebCrypto, for the workerd benchmark:
// parse the form, verify X-Twilio-Signature (HMAC-SHA1), open the pair's cookie (HMAC-SHA256
// over the state and the AccountSid/To/From pair), count (a retried MessageSid is not
// counted twice), seal the new cookie, render TwiML, log one JSON line. It corresponds to
// the Rust worker with HISTORY_TURNS=0 (a signed state, no history, no encryption); routes
// other than POST / and /sms are answered minimally. Not a product: a yardstick.
const enc = new TextEncoder();
const dec = new TextDecoder();
const TTL = 14400;
const COOKIE = "sms_state";
const XML = '<?xml version="1.0" encoding="UTF-8"?>';

let keys = null; // per isolate, like the Rust worker's Config
function loadKeys(env) {
  keys ??= Promise.all([
    crypto.subtle.importKey("raw", enc.encode(env.TWILIO_AUTH_TOKEN), { name: "HMAC", hash: "SHA-1" }, false, ["verify"]),
    crypto.subtle.importKey("raw", enc.encode(env.SESSION_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
  ]).then(([twilio, session]) => ({ twilio, session }));
  return keys;
}

function b64urlEncode(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64Decode(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function escapeXml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function mask(number) {
  return number.length <= 6 ? "*".repeat(number.length) : number.slice(0, 3) + "*".repeat(number.length - 5) + number.slice(-2);
}

/** The URLs Twilio may have signed: as received, and without the port. */
function candidateUrls(raw) {
  const url = new URL(raw);
  const urls = [raw];
  if (url.port) {
    url.port = "";
    urls.push(url.toString());
  }
  return urls;
}

function pairBytes(version, payload, params) {
  // The MAC covers the pair, so a cookie does not open in another conversation.
  return enc.encode(`${version}.${payload}\0${params.get("AccountSid") ?? ""}\0${params.get("To")}\0${params.get("From")}`);
}

async function openCookie(header, params, key, now) {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [name, value] = part.trim().split(/=(.*)/s);
    if (name !== COOKIE || !value) continue;
    const [version, payload, mac] = value.split(".");
    if (version !== "v1" || !payload || !mac) continue;
    try {
      if (!(await crypto.subtle.verify("HMAC", key, b64Decode(mac), pairBytes(version, payload, params)))) continue;
      const state = JSON.parse(dec.decode(b64Decode(payload)));
      if (typeof state.n === "number" && now < state.x) return state;
    } catch {
      /* junk: start afresh */
    }
  }
  return null;
}

async function sealCookie(state, params, key) {
  const payload = b64urlEncode(enc.encode(JSON.stringify(state)));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, pairBytes("v1", payload, params)));
  return `${COOKIE}=v1.${payload}.${b64urlEncode(mac)}; HttpOnly; Secure; Path=/; Max-Age=${TTL}`;
}

const text = (status, body, headers = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });

export default {
  async fetch(request, env) {
    const started = Date.now();
    const url = new URL(request.url);
    if (url.pathname !== "/" && url.pathname !== "/sms") return text(404, "not found\n");
    if (request.method !== "POST") return text(405, "method not allowed\n", { allow: "GET, POST" });
    const ct = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (ct !== "application/x-www-form-urlencoded") return text(415, "unsupported Content-Type\n");
    const body = await request.text();
    if (body.length > 64 * 1024) return text(413, "request body too large\n");
    const params = new URLSearchParams(body);
    const from = params.get("From"), to = params.get("To");
    if (!from || !to) return text(400, `missing ${from ? "To" : "From"}\n`);

    const { twilio, session } = await loadKeys(env);
    const signature = request.headers.get("x-twilio-signature");
    if (!signature) return text(403, "forbidden: missing X-Twilio-Signature header\n");
    let given;
    try {
      given = b64Decode(signature.trim());
    } catch {
      return text(403, "forbidden: bad signature\n");
    }
    const sorted = [...params.keys()].sort();
    let data = "";
    for (const name of new Set(sorted)) for (const value of [...new Set(params.getAll(name))].sort()) data += name + value;
    let valid = false;
    for (const candidate of candidateUrls(request.url)) {
      if (await crypto.subtle.verify("HMAC", twilio, given, enc.encode(candidate + data))) {
        valid = true;
        break;
      }
    }
    if (!valid) return text(403, "forbidden: X-Twilio-Signature does not match\n");

    const now = Math.floor(started / 1000);
    const sid = params.get("MessageSid") ?? params.get("SmsSid") ?? "";
    const opened = await openCookie(request.headers.get("cookie"), params, session, now);
    const state = opened ?? { n: 0, f: now, l: now };
    let outcome = "reply";
    if (sid && state.m === sid) {
      outcome = "retry";
    } else {
      state.n += 1;
      state.l = now;
      state.m = sid;
    }
    state.x = now + TTL;
    const reply = state.n === 1 ? "Hello, thanks for the new message." : `Hello, thanks for message number ${state.n}`;
    const cookie = await sealCookie(state, params, session);
    console.log(
      JSON.stringify({
        event: "webhook",
        outcome,
        status: 200,
        source: opened ? "cookie" : "new",
        count: state.n,
        from: mask(from),
        ms: Date.now() - started,
      }),
    );
    return new Response(`${XML}<Response><Message>${escapeXml(reply)}</Message></Response>`, {
      headers: { "content-type": "text/xml; charset=utf-8", "set-cookie": cookie },
    });
  },
};
