//! The whole webhook, `app::handle`, on any method, URL, headers, cookie and body, under
//! each configuration of `sms_fuzz::setup`, each kind of KV store, with or without the
//! isolate's memory, and with bodies the runtime could not read.
//!
//! Properties: nothing panics (the after-reply work included); the status is one of the
//! contract's; a 5xx only when the configuration is broken; a 405 exactly when the method
//! is not the one `WEBHOOK_METHOD` allows (GET webhooks under the POST default); a body the
//! runtime could not read is never answered with TwiML; no Set-Cookie, KV write or
//! after-reply work unless the answer is 200, and after-reply work only from a
//! conversation's reply; the Set-Cookie is at most 4096 bytes of cookie-safe text and opens
//! again as a cookie (never as a KV entry) for the pair with the count the log reports; KV
//! values open as KV
//! entries (never as cookies); TwiML is well-formed XML 1.0 text; a request signed the way
//! Twilio signs is never refused as forged; a cookie the harness sealed is continued, and
//! any MessageSid in its window is a retry answered with the reply it got; re-delivering a
//! counted message with the cookie it got back is a retry with the very same reply; and
//! with the isolate's memory, re-delivering a counted message or a reset with the cookie it
//! first came with is a retry too.
#![no_main]

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::app::{handle, Body, Handled, HttpRequest, Runtime};
use sms_conversation_worker::config::{Config, Verification};
use sms_conversation_worker::conversation::{HttpClient, NoClient};
use sms_conversation_worker::harness::block_on;
use sms_conversation_worker::record::{Pair, Record};
use sms_conversation_worker::response::Outcome;
use sms_conversation_worker::seal::{
    Opened, Place, Purpose, TooLarge, COOKIE_NAME, MAX_SET_COOKIE_BYTES,
};
use sms_conversation_worker::storage::{KvWrite, Memory, NoStore};
use sms_conversation_worker::twilio::params::{parse_params, InboundMessage};
use sms_conversation_worker::twilio::signature::{
    candidate_urls, expected_signature, params_string,
};
use sms_conversation_worker::twilio::twiml;
use sms_conversation_worker::vars::Vars;
use sms_fuzz::{
    record_from_json, FuzzConfig, FuzzStore, StoreMode, WebhookInput, AUTH_TOKEN, BODY_UNREAD,
    MEMORY, NOW, SEAL_ENCRYPTED, SEAL_STATE, SIGN,
};

const STATUSES: &[u16] = &[200, 400, 403, 404, 405, 413, 415, 500];

/// The same split as the worker's router: `(path, query)`, fragment dropped.
fn path_and_query(url: &str) -> (&str, &str) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let start = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i);
    let rest = &url[start..];
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (if path.is_empty() { "/" } else { path }, query)
}

/// One request through `app::handle`, its after-reply work run too (it must not panic;
/// with no HTTP client it fails, which the worker only logs). Returns the answer and how
/// many after-reply tasks there were.
fn run(
    cfg: &FuzzConfig,
    req: &HttpRequest<'_>,
    store: &FuzzStore,
    memory: Option<&Memory>,
) -> (Handled, usize) {
    let lookup = |name: &str| cfg.lookup(name);
    let http: Rc<dyn HttpClient> = Rc::new(NoClient);
    let setup = cfg.setup.as_ref();
    let mut handled = match store.mode {
        StoreMode::Unbound => {
            let rt: Runtime<'_, NoStore> = Runtime {
                memory,
                ..Runtime::new(NOW, Vars::new(&lookup), http)
            };
            block_on(handle(setup, req, &rt))
        }
        _ => {
            let rt = Runtime {
                kv: Some(store),
                memory,
                ..Runtime::new(NOW, Vars::new(&lookup), http)
            };
            block_on(handle(setup, req, &rt))
        }
    };
    let tasks = std::mem::take(&mut handled.after_reply);
    let count = tasks.len();
    for task in tasks {
        if let Err(e) = block_on(task.work) {
            assert!(
                !e.is_empty(),
                "after-reply task {} failed silently",
                task.name
            );
        }
    }
    (handled, count)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The sealed value of a `Set-Cookie: sms_state=…; …` header.
fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .strip_prefix(COOKIE_NAME)
        .and_then(|s| s.strip_prefix('='))
        .expect("Set-Cookie names sms_state")
        .split(';')
        .next()
        .unwrap_or("")
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = WebhookInput::parse(data) else {
        return;
    };
    let cfg = sms_fuzz::setup(input.config);
    let config: Result<&Config, _> = cfg.setup.as_ref().map(|s| &s.config);
    let misconfigured = cfg.misconfigured;
    let store_mode = StoreMode::from_flags(input.flags);
    let memory = (input.flags & MEMORY != 0).then(Memory::default);

    // What the worker will parse, so the harness can sign it and know the pair.
    let is_post = input.method == "POST";
    let (path, query) = path_and_query(&input.url);
    let encoded: &[u8] = if is_post {
        &input.body
    } else {
        query.as_bytes()
    };
    let params = parse_params(encoded).ok();
    let message = params
        .as_ref()
        .and_then(|p| InboundMessage::from_params(p).ok());
    let pair = message.as_ref().map(|m| Pair {
        account_sid: m.account(),
        to: &m.to,
        from: &m.from,
    });

    // X-Twilio-Signature: the fuzzed one, or Twilio's own.
    let base_url = config.ok().and_then(|c| c.webhook_base_url.as_deref());
    let signed_url = input.url.split('#').next().unwrap_or("");
    let signed_url = match base_url {
        None => signed_url.to_string(),
        Some(base) => candidate_urls(signed_url, Some(base)).swap_remove(0),
    };
    let twilio_signed = input.flags & SIGN != 0 && params.is_some();
    let signature = if twilio_signed {
        let data = match (&params, is_post) {
            (Some(p), true) => params_string(p.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
            _ => String::new(),
        };
        expected_signature(AUTH_TOKEN, &signed_url, &data)
    } else {
        input.signature.clone()
    };

    // The cookie (and the KV entry): fuzzed text, or a record the harness seals for the pair.
    let harness_record: Option<Record> = (input.flags & SEAL_STATE != 0)
        .then(|| record_from_json(&input.cookie))
        .flatten();
    let mut cookie = input.cookie.clone();
    let mut kv_value = Some(input.cookie.clone());
    let mut harness_cookie = None;
    if let (Some(record), Some(pair), Ok(c)) = (&harness_record, &pair, config) {
        let s = &c.storage;
        let encrypt = input.flags & SEAL_ENCRYPTED != 0;
        let expires_at = record.last_seen.saturating_add(s.conversation_ttl_seconds);
        let sealed = s
            .keys
            .seal(record, Purpose::Cookie, pair, expires_at, encrypt)
            .expect("sealed");
        cookie = format!("{COOKIE_NAME}={sealed}");
        harness_cookie = s.keys.open(&sealed, Place::Cookie, pair, NOW).ok();
        let newer = Record {
            seq: record.seq.saturating_add(1),
            ..record.clone()
        };
        let kv_expiry = record.last_seen.saturating_add(s.kv_ttl_seconds);
        kv_value = s
            .keys
            .seal(&newer, Purpose::Kv, pair, kv_expiry, encrypt)
            .ok();
    }
    let store = FuzzStore {
        mode: store_mode,
        value: kv_value,
    };

    let body_unread = input.flags & BODY_UNREAD != 0;
    let body = match (body_unread, input.body.is_empty()) {
        (false, _) => Body::Read(&input.body),
        (true, true) => Body::Unreadable,
        (true, false) => Body::TooLarge,
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let (content_type, signature, cookie) =
        (opt(&input.content_type), opt(&signature), opt(&cookie));
    let req = HttpRequest {
        method: &input.method,
        url: &input.url,
        content_type: content_type.as_deref(),
        signature: signature.as_deref(),
        cookie: cookie.as_deref(),
        authorization: None,
        idempotency_key: None,
        body,
    };
    let (
        Handled {
            response, writes, ..
        },
        after_reply,
    ) = run(cfg, &req, &store, memory.as_ref());
    let status = response.status;
    let outcome = response.log.outcome.clone();

    assert!(STATUSES.contains(&status), "status {status}");
    if status == 500 {
        assert!(
            misconfigured,
            "500 under a valid configuration: {}",
            response.body
        );
        assert!(
            response.body.starts_with("misconfigured: "),
            "{}",
            response.body
        );
    }
    assert_eq!(response.allow.is_some(), status == 405);
    if status != 200 {
        assert!(response.set_cookie.is_none(), "Set-Cookie on a {status}");
        assert!(writes.is_empty(), "KV writes on a {status}");
        assert_eq!(after_reply, 0, "after-reply work on a {status}");
    }
    if after_reply > 0 {
        assert_eq!(outcome, Outcome::Reply, "after-reply work without a reply");
    }
    if store_mode == StoreMode::Unbound {
        assert!(writes.is_empty(), "KV writes without a store");
    }
    let log_line = response.log.to_json(status, 1);
    assert!(
        serde_json::from_str::<serde_json::Value>(&log_line).is_ok(),
        "{log_line}"
    );

    // WEBHOOK_METHOD: a webhook (not the info page) by the other method is a 405, and only
    // then is a routed GET or POST one.
    let routed = matches!(path, "/" | "/sms" | "/sms/") && matches!(&*input.method, "GET" | "POST");
    let info_page = input.method == "GET" && query.is_empty();
    if let (Ok(c), true, false) = (config, routed, info_page) {
        assert_eq!(
            status == 405,
            !c.webhook_method.allows(&input.method),
            "{} under WEBHOOK_METHOD {:?}: {status} {}",
            input.method,
            c.webhook_method,
            response.body
        );
    }
    if body_unread && is_post {
        assert_ne!(
            status, 200,
            "a body the runtime could not read was answered"
        );
    }

    let unsigned = matches!(
        config,
        Ok(Config {
            verification: Verification::Unsigned,
            ..
        })
    );
    if status == 403 {
        assert!(!unsigned, "403 with ALLOW_UNSIGNED_WEBHOOKS");
        // Runtimes hand over absolute http(s) URLs; Twilio signs them without credentials.
        let absolute = input.url.starts_with("https://") || input.url.starts_with("http://");
        assert!(
            !(twilio_signed && !misconfigured && absolute && !input.url.contains('@')),
            "a request signed like Twilio was refused: {}",
            response.body
        );
    }

    if status != 200 || response.content_type.starts_with("text/plain") {
        return;
    }
    // A webhook reply.
    let (Ok(config), Some(message), Some(pair)) = (config, &message, &pair) else {
        panic!("TwiML answer to a request the harness could not read as a message");
    };
    let keys = &config.storage.keys;
    assert_eq!(response.content_type, "text/xml; charset=utf-8");
    let body = &response.body;
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response"#),
        "{body}"
    );
    assert!(
        body.ends_with("</Response>") || body.ends_with("<Response/>"),
        "{body}"
    );
    // Even a retry replaying a reply the harness made up: TwiML drops what XML cannot hold.
    if let Some(bad) = body.chars().find(|&c| !is_xml_char(c)) {
        panic!("TwiML holds {bad:?}, which is not an XML 1.0 character: {body:?}");
    }
    if let Some(from) = &response.log.from {
        let hidden: String = message.from.chars().skip(3).collect();
        if hidden.chars().rev().skip(2).any(|c| c != '*') {
            assert_ne!(from, &message.from, "the log holds the whole number");
        }
    }
    for write in &writes {
        match write {
            KvWrite::Put { key, value, .. } => {
                assert!(
                    key.starts_with("pair:") || key.starts_with("spill:"),
                    "{key}"
                );
                assert!(
                    message.from.len() < 8 || !key.contains(&message.from),
                    "{key}"
                );
                let opened = keys.open(value, Place::Kv, pair, NOW);
                assert!(
                    matches!(opened, Ok(Opened::Record(_))),
                    "KV value does not open: {opened:?}"
                );
                assert!(
                    keys.open(value, Place::Cookie, pair, NOW).is_err(),
                    "a KV value opens as a cookie"
                );
            }
            KvWrite::Delete { .. } => {
                assert_eq!(outcome, Outcome::Reset, "KV delete outside a reset");
            }
        }
    }
    // Every message the pair sent is counted, whatever answers it (opt-outs and opt-ins,
    // a text from someone opted out, HELP with HELP_REPLY).
    let counted = matches!(
        outcome,
        Outcome::Reply | Outcome::OptOut | Outcome::OptIn | Outcome::OptedOut | Outcome::Help
    );
    let sid = message.sid();

    // A cookie the harness sealed (and that opened) is the conversation's record: the
    // isolate's memory starts empty, and KV is read only without a record in the cookie.
    if let Some(Opened::Record(before)) = &harness_cookie {
        if outcome == Outcome::StatusCallback {
            // A status callback is no message and leaves the record alone.
            assert!(response.set_cookie.is_none() && writes.is_empty());
        } else {
            let retry = before.has_seen(sid);
            assert_eq!(outcome == Outcome::Retry, retry, "outcome {outcome:?}");
            let expected = if retry {
                assert_eq!(
                    body,
                    &twiml::render(&before.answer_to(sid).cloned().unwrap_or_default()),
                    "a retry got another reply than the one it got"
                );
                before.count
            } else if outcome == Outcome::Reset {
                0
            } else {
                before.count.saturating_add(1)
            };
            assert_eq!(
                response.log.count,
                Some(expected),
                "count from a valid cookie"
            );
        }
    }

    let mut value = None;
    if let Some(set_cookie) = &response.set_cookie {
        assert!(
            set_cookie.len() <= MAX_SET_COOKIE_BYTES,
            "Set-Cookie of {} bytes",
            set_cookie.len()
        );
        assert!(
            set_cookie.bytes().all(|b| (0x20..0x7f).contains(&b)),
            "Set-Cookie with a control or non-ASCII byte: {set_cookie:?}"
        );
        let sealed = cookie_value(set_cookie);
        value = Some(sealed);
        if outcome == Outcome::Reset {
            assert!(
                sealed.is_empty() && set_cookie.contains("Max-Age=0"),
                "{set_cookie}"
            );
        } else if counted || outcome == Outcome::Retry {
            // Every Set-Cookie opens now: a retry of a record idle past the cookie's life
            // sets none.
            let reopened = keys.open(sealed, Place::Cookie, pair, NOW);
            let count = match &reopened {
                Ok(Opened::Record(r)) => r.count,
                Ok(Opened::Pointer(p)) => {
                    assert!(
                        !counted
                            || writes
                                .iter()
                                .any(|w| matches!(w, KvWrite::Put { key, .. } if *key == p.key)),
                        "a pointer cookie to a record that is not written"
                    );
                    p.summary.count
                }
                Err(e) => panic!("the Set-Cookie does not open for its pair: {e:?}"),
            };
            assert_eq!(
                Some(count),
                response.log.count,
                "cookie count vs logged count"
            );
            assert!(
                keys.open(sealed, Place::Kv, pair, NOW).is_err(),
                "a Set-Cookie opens as a KV entry"
            );
        }
    }

    if sid.is_empty() || !(counted || outcome == Outcome::Reset) {
        return;
    }
    // A state too large to keep (a MessageSid of kilobytes, which the record keeps whole) is
    // written nowhere and not remembered either, so that nothing is kept that cannot be read
    // back: a re-delivery of its message runs again, by design (`storage::save`). There is
    // no retry to check, and no cookie was set.
    if response.log.notes.contains(TooLarge::NOTE) {
        assert!(
            response.set_cookie.is_none(),
            "a state too large set a cookie"
        );
        return;
    }
    // Re-deliveries of the same message, as Twilio retries it: the same reply, no count.
    let again = |cookie: Option<&str>, what: &str| {
        let (handled, after_reply) =
            run(cfg, &HttpRequest { cookie, ..req }, &store, memory.as_ref());
        let again = handled.response;
        assert_eq!(again.status, 200, "{what}: {}", again.body);
        assert_eq!(again.log.outcome, Outcome::Retry, "{what}");
        assert_eq!(
            again.log.count, response.log.count,
            "{what}: a retry was counted"
        );
        assert_eq!(&again.body, body, "{what}: a retry got another reply");
        assert_eq!(after_reply, 0, "{what}: a retry ran the conversation");
    };
    // With the cookie it got back (a reset's cookie is deleted: nothing to send back). A
    // KV store holding a newer record than the cookie's would rightly win over it.
    if let (true, false, Some(value)) = (counted, store_mode == StoreMode::Holding, value) {
        let again_cookie = format!("{COOKIE_NAME}={value}");
        again(Some(&again_cookie), "re-delivered with the cookie it got");
    }
    // With the cookie it first came with: the isolate's memory knows the message.
    if memory.is_some() {
        again(
            req.cookie,
            "re-delivered with its first cookie to the same isolate",
        );
    }
});
