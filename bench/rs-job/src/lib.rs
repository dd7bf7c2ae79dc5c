//! The signed webhook's job in Rust, with none of the framework: see Cargo.toml. It mirrors
//! bench/js-worker/index.mjs (a signed state, no history): the same checks, the same count,
//! the same answer; its cookie's payload is a few numbers and the last MessageSid as text.
#![allow(unreachable_pub)]

use std::borrow::Cow;
use std::cell::RefCell;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use wasm_bindgen::prelude::*;

#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

const COOKIE: &str = "sms_state";
const TTL: u64 = 14_400;
const MAX_BODY: usize = 64 * 1024;
const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

thread_local! {
    static KEYS: RefCell<Option<(Hmac<Sha1>, Hmac<Sha256>)>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// The isolate's keys, once: the Twilio auth token's and the session secret's HMAC states.
#[wasm_bindgen]
pub fn keys(token: &str, secret: &str) {
    let twilio = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    let session = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    KEYS.with(|k| *k.borrow_mut() = Some((twilio, session)));
}

/// One request: the status, Set-Cookie and the log line, one a line, then the body.
#[wasm_bindgen]
pub fn job(
    method: &str,
    url: &str,
    content_type: Option<String>,
    signature: Option<String>,
    cookie: Option<String>,
    body: &[u8],
    started: f64,
) -> String {
    KEYS.with(|k| {
        let keys = k.borrow();
        let Some((twilio, session)) = keys.as_ref() else {
            return plain(500, "no keys\n");
        };
        let request = Request {
            method,
            url,
            content_type: content_type.as_deref(),
            signature: signature.as_deref(),
            cookie: cookie.as_deref(),
            body,
        };
        match answer(&request, twilio, session, started as u64) {
            Ok(text) | Err(text) => text,
        }
    })
}

struct Request<'a> {
    method: &'a str,
    url: &'a str,
    content_type: Option<&'a str>,
    signature: Option<&'a str>,
    cookie: Option<&'a str>,
    body: &'a [u8],
}

/// A plain-text answer with no cookie and no log line.
fn plain(status: u16, text: &str) -> String {
    format!("{status}\n\n\n{text}")
}

fn answer(
    req: &Request<'_>,
    twilio: &Hmac<Sha1>,
    session: &Hmac<Sha256>,
    started: u64,
) -> Result<String, String> {
    let path = path_of(req.url);
    if path != "/" && path != "/sms" {
        return Err(plain(404, "not found\n"));
    }
    if req.method != "POST" {
        return Err(plain(405, "method not allowed\n"));
    }
    let form = req.content_type.unwrap_or_default();
    let form = form.split(';').next().unwrap_or_default().trim();
    if !form.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(plain(415, "unsupported Content-Type\n"));
    }
    if req.body.len() > MAX_BODY {
        return Err(plain(413, "request body too large\n"));
    }
    let mut params: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(req.body).collect();
    let get = |params: &[(Cow<'_, str>, Cow<'_, str>)], name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    };
    let (Some(from), Some(to)) = (get(&params, "From"), get(&params, "To")) else {
        return Err(plain(400, "missing From or To\n"));
    };
    let account = get(&params, "AccountSid").unwrap_or_default();
    let sid = get(&params, "MessageSid")
        .or_else(|| get(&params, "SmsSid"))
        .unwrap_or_default();
    params.sort_unstable();
    verify(req, twilio, &params)?;

    let now = started / 1000;
    let pair = [account.as_str(), to.as_str(), from.as_str()];
    let opened = req.cookie.and_then(|c| open(c, session, &pair, now));
    let source = if opened.is_some() { "cookie" } else { "new" };
    let mut state = opened.unwrap_or(State {
        n: 0,
        f: now,
        l: now,
        x: 0,
        m: String::new(),
    });
    let retry = !sid.is_empty() && state.m == sid;
    if !retry {
        state.n += 1;
        state.l = now;
        state.m = sid;
    }
    state.x = now + TTL;
    let reply = if state.n == 1 {
        "Hello, thanks for the new message.".to_string()
    } else {
        format!("Hello, thanks for message number {}", state.n)
    };
    let set_cookie = seal(&state, session, &pair);
    let ms = (date_now() - started as f64).max(0.0) as u64;
    let outcome = if retry { "retry" } else { "reply" };
    let mut count = itoa::Buffer::new();
    let mut elapsed = itoa::Buffer::new();
    let log = [
        r#"{"event":"webhook","outcome":""#,
        outcome,
        r#"","status":200,"source":""#,
        source,
        r#"","count":"#,
        count.format(state.n),
        r#","from":""#,
        &mask(&from),
        r#"","ms":"#,
        elapsed.format(ms),
        "}",
    ]
    .concat();
    let twiml = [
        XML,
        "<Response><Message>",
        &escape(&reply),
        "</Message></Response>",
    ]
    .concat();
    Ok(["200\n", &set_cookie, "\n", &log, "\n", &twiml].concat())
}

/// The URL's path, without its query.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split('?').next().unwrap_or("/")
}

/// X-Twilio-Signature: HMAC-SHA1 over the URL and the parameters sorted by name, tried for
/// the URL as received and without its port.
fn verify(
    req: &Request<'_>,
    key: &Hmac<Sha1>,
    sorted: &[(Cow<'_, str>, Cow<'_, str>)],
) -> Result<(), String> {
    let Some(signature) = req.signature else {
        return Err(plain(403, "forbidden: missing X-Twilio-Signature header\n"));
    };
    let mut given = [0u8; 20];
    if Base64::decode(signature.trim(), &mut given).map(|g| g.len()) != Ok(20) {
        return Err(plain(403, "forbidden: bad signature\n"));
    }
    let without_port = without_port(req.url);
    let candidates = std::iter::once(req.url).chain(without_port.as_deref());
    for url in candidates {
        let mut mac = key.clone();
        mac.update(url.as_bytes());
        for (name, value) in sorted {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        if bool::from(mac.finalize().into_bytes().as_slice().ct_eq(&given)) {
            return Ok(());
        }
    }
    Err(plain(403, "forbidden: X-Twilio-Signature does not match\n"))
}

/// The URL without its port, when it has one.
fn without_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, port) = rest[..end].rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{scheme}://{host}{}", &rest[end..]))
}

/// The state a cookie keeps: the count, first and last seen, expiry, the last MessageSid.
struct State {
    n: u64,
    f: u64,
    l: u64,
    x: u64,
    m: String,
}

/// The MAC of `payload` bound to the pair, so a cookie does not open in another conversation.
fn mac_of(key: &Hmac<Sha256>, payload: &str, pair: &[&str; 3]) -> [u8; 32] {
    let mut mac = key.clone();
    mac.update(b"v1.");
    mac.update(payload.as_bytes());
    for part in pair {
        mac.update(b"\0");
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

fn open(header: &str, key: &Hmac<Sha256>, pair: &[&str; 3], now: u64) -> Option<State> {
    header.split(';').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        if name != COOKIE {
            return None;
        }
        let rest = value.strip_prefix("v1.")?;
        let (payload, mac) = rest.split_once('.')?;
        let mut given = [0u8; 32];
        if Base64UrlUnpadded::decode(mac, &mut given).ok()?.len() != 32 {
            return None;
        }
        if !bool::from(mac_of(key, payload, pair).ct_eq(&given)) {
            return None;
        }
        let text = String::from_utf8(Base64UrlUnpadded::decode_vec(payload).ok()?).ok()?;
        let mut fields = text.splitn(5, ',');
        let mut number = || fields.next()?.parse::<u64>().ok();
        let (n, f, l, x) = (number()?, number()?, number()?, number()?);
        let m = fields.next()?.to_string();
        (now < x).then_some(State { n, f, l, x, m })
    })
}

fn seal(state: &State, key: &Hmac<Sha256>, pair: &[&str; 3]) -> String {
    let (mut a, mut b, mut c, mut d) = (
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
        itoa::Buffer::new(),
    );
    let text = [
        a.format(state.n),
        ",",
        b.format(state.f),
        ",",
        c.format(state.l),
        ",",
        d.format(state.x),
        ",",
        &state.m,
    ]
    .concat();
    let payload = Base64UrlUnpadded::encode_string(text.as_bytes());
    let mac = Base64UrlUnpadded::encode_string(&mac_of(key, &payload, pair));
    let mut age = itoa::Buffer::new();
    [
        COOKIE,
        "=v1.",
        &payload,
        ".",
        &mac,
        "; HttpOnly; Secure; Path=/; Max-Age=",
        age.format(TTL),
    ]
    .concat()
}

/// The number with all but its first three and last two characters masked.
fn mask(number: &str) -> String {
    let n = number.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    let head: String = number.chars().take(3).collect();
    let tail: String = number.chars().skip(n - 2).collect();
    format!("{head}{}{tail}", "*".repeat(n - 5))
}

fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}
