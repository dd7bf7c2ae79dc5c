//! The whole webhook, `app::handle`, on any method, URL, headers, cookie and body, under
//! each configuration of `sms_fuzz::config` and each kind of KV store.
//!
//! Properties: nothing panics; the status is one of the contract's; a 5xx only when the
//! configuration is broken; no Set-Cookie or KV write unless the answer is 200; the
//! Set-Cookie is at most 4096 bytes of cookie-safe text and opens again for the pair with
//! the count the log reports; TwiML is well-formed XML 1.0 text; a request signed the
//! way Twilio signs is never refused as forged; a cookie the harness sealed is continued;
//! and re-delivering a counted message with the cookie it got back is a retry with the
//! very same reply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::app::{handle, HttpRequest, KvWrite, NoStore, Outcome};
use sms_conversation_worker::config::{Config, ConfigError, Verification};
use sms_conversation_worker::session::{Sealed, COOKIE_NAME, MAX_SET_COOKIE_BYTES};
use sms_conversation_worker::signature::{candidate_urls, expected_signature, params_string};
use sms_conversation_worker::state::{ConversationState, Pair};
use sms_conversation_worker::webhook::{parse_params, InboundMessage};
use sms_fuzz::{
    block_on, state_from_json, FuzzStore, StoreMode, WebhookInput, AUTH_TOKEN, NOW, SEAL_ENCRYPTED,
    SEAL_STATE, SIGN,
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

fn run(config: Result<&Config, &ConfigError>, req: &HttpRequest<'_>, store: &FuzzStore) -> Outcome {
    match store.mode {
        StoreMode::Unbound => block_on(handle::<NoStore>(config, req, NOW, None)),
        _ => block_on(handle(config, req, NOW, Some(store))),
    }
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
    let (config, misconfigured) = sms_fuzz::config(input.config);
    let store_mode = StoreMode::from_flags(input.flags);

    // What the worker will parse, so the harness can sign it and know the pair.
    let is_post = input.method == "POST";
    let (_, query) = path_and_query(&input.url);
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
            (Some(p), true) => params_string(p.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            _ => String::new(),
        };
        expected_signature(AUTH_TOKEN, &signed_url, &data)
    } else {
        input.signature.clone()
    };

    // The cookie (and the KV entry): fuzzed text, or a state the harness seals for the pair.
    let harness_state: Option<ConversationState> = (input.flags & SEAL_STATE != 0)
        .then(|| state_from_json(&input.cookie))
        .flatten();
    let mut cookie = input.cookie.clone();
    let mut kv_value = Some(input.cookie.clone());
    let mut harness_cookie = None;
    if let (Some(state), Some(pair), Ok(c)) = (&harness_state, &pair, config) {
        let keys = &c.session_keys;
        let encrypt = input.flags & SEAL_ENCRYPTED != 0;
        let sealed = keys.seal(
            state,
            pair,
            state.last_seen.saturating_add(c.ttl_seconds),
            encrypt,
        );
        cookie = format!("{COOKIE_NAME}={sealed}");
        harness_cookie = keys.open(&sealed, pair, NOW).ok();
        let newer = ConversationState {
            seq: state.seq.saturating_add(1),
            ..state.clone()
        };
        let kv_expiry = state.last_seen.saturating_add(c.kv_ttl_seconds);
        kv_value = Some(keys.seal(&newer, pair, kv_expiry, encrypt));
    }
    let store = FuzzStore {
        mode: store_mode,
        value: kv_value,
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
        body: &input.body,
    };
    let Outcome { response, writes } = run(config, &req, &store);
    let status = response.status;

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
    }
    if store_mode == StoreMode::Unbound {
        assert!(writes.is_empty(), "KV writes without a store");
    }
    let log_line = response.log.to_json(status, 1);
    assert!(
        serde_json::from_str::<serde_json::Value>(&log_line).is_ok(),
        "{log_line}"
    );

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
    let outcome = response.log.outcome;
    // A retry replays a stored reply; one the harness made up may hold anything.
    if !(outcome == "retry" && harness_state.is_some()) {
        if let Some(bad) = body.chars().find(|&c| !is_xml_char(c)) {
            panic!("TwiML holds {bad:?}, which is not an XML 1.0 character: {body:?}");
        }
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
                let opened = config.session_keys.open(value, pair, NOW);
                assert!(
                    matches!(opened, Ok(Sealed::State(_))),
                    "KV value does not open: {opened:?}"
                );
            }
            KvWrite::Delete { .. } => {
                assert_eq!(outcome, "reset", "KV delete outside a reset");
            }
        }
    }
    let counted = matches!(outcome, "reply" | "opt_out");

    // A cookie the harness sealed (and that opened) is the conversation's state.
    if let (Some(Sealed::State(before)), StoreMode::Unbound) = (&harness_cookie, store_mode) {
        // A reset forgets the count; a status callback is no message and leaves it alone.
        if outcome == "status_callback" {
            assert!(response.set_cookie.is_none() && writes.is_empty());
        } else if outcome != "reset" {
            let sid = message.sid();
            let retry = !sid.is_empty() && before.last_message_sid.as_deref() == Some(sid);
            let expected = if retry {
                before.count
            } else {
                before.count.saturating_add(1)
            };
            assert_eq!(
                response.log.count,
                Some(expected),
                "count from a valid cookie"
            );
            assert_eq!(outcome == "retry", retry, "outcome {outcome}");
        }
    }

    let Some(set_cookie) = &response.set_cookie else {
        return;
    };
    assert!(
        set_cookie.len() <= MAX_SET_COOKIE_BYTES,
        "Set-Cookie of {} bytes",
        set_cookie.len()
    );
    assert!(
        set_cookie.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "Set-Cookie with a control or non-ASCII byte: {set_cookie:?}"
    );
    let value = cookie_value(set_cookie);
    if outcome == "reset" {
        assert!(
            value.is_empty() && set_cookie.contains("Max-Age=0"),
            "{set_cookie}"
        );
        return;
    }
    if !counted {
        return;
    }
    let reopened = config.session_keys.open(value, pair, NOW);
    let count = match &reopened {
        Ok(Sealed::State(s)) => s.count,
        Ok(Sealed::Pointer(p)) => {
            assert!(
                writes
                    .iter()
                    .any(|w| matches!(w, KvWrite::Put { key, .. } if *key == p.key)),
                "a pointer cookie to a state that is not written"
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

    // Twilio re-delivers the same message with the cookie it just got: same reply, no count.
    if store_mode == StoreMode::Unbound && !message.sid().is_empty() {
        let again_cookie = format!("{COOKIE_NAME}={value}");
        let again = run(
            Ok(config),
            &HttpRequest {
                cookie: Some(&again_cookie),
                ..req
            },
            &store,
        )
        .response;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.log.outcome, "retry");
        assert_eq!(again.log.count, response.log.count, "a retry was counted");
        assert_eq!(again.body, response.body, "a retry got another reply");
    }
});
