//! Scenarios of the KV fallback, run natively against an in-memory store.

use std::cell::RefCell;
use std::collections::HashMap;

use super::*;
use crate::recent::RecentStates;
use crate::session::COOKIE_NAME;

use super::tests::{config, sign, NOW, URL};

/// The `CONVERSATIONS` namespace as a map; `broken` makes every read fail like a KV outage.
#[derive(Default)]
struct MemStore {
    map: RefCell<HashMap<String, String>>,
    broken: bool,
    reads: RefCell<u32>,
}

impl Store for MemStore {
    async fn get(&self, key: &str) -> Result<Option<String>, String> {
        *self.reads.borrow_mut() += 1;
        if self.broken {
            return Err("KV is down".into());
        }
        Ok(self.map.borrow().get(key).cloned())
    }
}

impl MemStore {
    fn apply(&self, writes: &[KvWrite]) {
        let mut map = self.map.borrow_mut();
        for w in writes {
            match w {
                KvWrite::Put { key, value, .. } => {
                    map.insert(key.clone(), value.clone());
                }
                KvWrite::Delete { key } => {
                    map.remove(key);
                }
            }
        }
    }
}

/// A phone texting through Twilio, with Twilio's per-pair cookie jar.
struct Phone<'c> {
    config: &'c Config,
    store: Option<&'c MemStore>,
    /// The isolate's memory of recent states, when the scenario has one.
    recent: Option<&'c RecentStates>,
    jar: Option<String>,
    sent: u64,
    /// Every `Set-Cookie` the worker sent.
    cookies: Vec<String>,
}

impl<'c> Phone<'c> {
    fn new(config: &'c Config, store: Option<&'c MemStore>) -> Self {
        Phone {
            config,
            store,
            recent: None,
            jar: None,
            sent: 0,
            cookies: Vec::new(),
        }
    }

    fn send(&mut self, body: &str) -> Outcome {
        self.sent += 1;
        self.deliver(&format!("SM{:032}", self.sent), body)
    }

    fn deliver(&mut self, sid: &str, body: &str) -> Outcome {
        let form = serde_urlencoded::to_string([
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("MessageSid", sid),
            ("From", "+14155550100"),
            ("To", "+15005550006"),
            ("Body", body),
        ])
        .unwrap();
        let sig = sign(URL, &form);
        let cookie = self.jar.clone();
        let req = HttpRequest {
            method: "POST",
            url: URL,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(&sig),
            cookie: cookie.as_deref(),
            body: form.as_bytes(),
        };
        let now = NOW + self.sent * 10;
        let outcome = pollster::block_on(match self.store {
            Some(store) => handle_with(Ok(self.config), &req, now, Some(store), self.recent),
            None => handle_with::<MemStore>(Ok(self.config), &req, now, None, self.recent),
        });
        if let Some(set) = &outcome.response.set_cookie {
            self.cookies.push(set.clone());
            self.jar = if set.contains("Max-Age=0") {
                None
            } else {
                Some(set.split(';').next().unwrap().to_string())
            };
        }
        if let Some(store) = self.store {
            store.apply(&outcome.writes);
        }
        outcome
    }
}

fn text(outcome: &Outcome) -> &str {
    let body = &outcome.response.body;
    match (body.find("<Message>"), body.find("</Message>")) {
        (Some(s), Some(e)) => &body[s + "<Message>".len()..e],
        _ => "",
    }
}

fn numbered(n: u64) -> String {
    format!("Hello, thanks for message number {n}")
}

/// The longest body Twilio sends, made of characters that XML-escaping leaves alone.
fn long_body(i: u64) -> String {
    format!("{i:04}").repeat(400)
}

#[test]
fn the_default_cookie_stays_small_with_history_off() {
    let c = config(&[("HISTORY_TURNS", "0")]);
    let mut phone = Phone::new(&c, None);
    for _ in 0..10 {
        phone.send("Hello there, how are you today?");
    }
    let value = phone.jar.as_deref().unwrap();
    let sealed = value.strip_prefix("sms_state=").unwrap();
    assert!(
        sealed.starts_with("v1."),
        "history off is signed, not encrypted"
    );
    // Recorded in the README: the sealed value of a 10-message default conversation.
    println!(
        "sealed 10-message cookie, history off: {} bytes",
        sealed.len()
    );
    assert!(sealed.len() <= 300, "{} bytes", sealed.len());
}

#[test]
fn the_default_cookie_with_ten_turns_is_encrypted_and_fits() {
    let c = config(&[]);
    let mut phone = Phone::new(&c, None);
    for _ in 0..10 {
        phone.send("Hello there, how are you today?");
    }
    let value = phone.jar.as_deref().unwrap();
    let sealed = value.strip_prefix("sms_state=").unwrap();
    assert!(sealed.starts_with("e1."));
    println!(
        "sealed 10-message cookie, 10 turns, encrypted: {} bytes",
        sealed.len()
    );
    assert!(!sealed.contains("Hello"));
    assert!(phone
        .cookies
        .iter()
        .all(|c| c.len() <= MAX_SET_COOKIE_BYTES));
}

#[test]
fn without_kv_long_bodies_trim_history_and_the_count_stays_exact() {
    let c = config(&[]);
    let mut phone = Phone::new(&c, None);
    for i in 1..=12 {
        let out = phone.send(&long_body(i));
        assert_eq!(out.response.status, 200);
        if i > 1 {
            assert_eq!(text(&out), numbered(i));
        }
        assert!(out.writes.is_empty());
    }
    assert!(phone
        .cookies
        .iter()
        .all(|c| c.len() <= MAX_SET_COOKIE_BYTES));
    assert!(phone.jar.as_deref().unwrap().starts_with("sms_state=e1."));
}

#[test]
fn with_kv_long_bodies_spill_behind_a_pointer_and_keep_their_turns() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    for i in 1..=12 {
        let out = phone.send(&long_body(i));
        if i > 1 {
            assert_eq!(text(&out), numbered(i));
        }
    }
    assert!(phone
        .cookies
        .iter()
        .all(|c| c.len() <= MAX_SET_COOKIE_BYTES));
    assert!(phone.jar.as_deref().unwrap().starts_with("sms_state=p1."));
    let map = store.map.borrow();
    // One spilled entry for the whole conversation, reused message after message.
    assert_eq!(map.keys().filter(|k| k.starts_with("spill:")).count(), 1);
    assert!(map.keys().all(|k| !k.contains("4155550100")));
    // The spilled state holds the turns the cookie could not.
    let keys = &c.session_keys;
    let pair = Pair {
        account_sid: "AC00000000000000000000000000000000",
        to: "+15005550006",
        from: "+14155550100",
    };
    let Sealed::State(state) = keys
        .open(&map[&keys.pair_key(&pair)], &pair, NOW + 1_000)
        .unwrap()
    else {
        panic!("the pair entry holds a state");
    };
    assert_eq!(state.count, 12);
    assert!(state.turns.len() >= 4, "{} turns", state.turns.len());
    assert_eq!(state.turns.last().unwrap().inbound, long_body(12));
}

#[test]
fn a_normal_message_reads_nothing_from_kv_and_writes_the_pair_once() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    let first = phone.send("hi");
    assert_eq!(*store.reads.borrow(), 1, "no cookie yet: one lookup");
    assert_eq!(first.writes.len(), 1);
    let second = phone.send("again");
    assert_eq!(*store.reads.borrow(), 1, "the cookie is authoritative");
    assert!(
        matches!(&second.writes[..], [KvWrite::Put { key, ttl_seconds: 2_592_000, .. }] if key.starts_with("pair:"))
    );
    // A retry changes nothing, so it writes nothing.
    let retry = phone.deliver(&format!("SM{:032}", 2), "again");
    assert_eq!(retry.response.log.outcome, "retry");
    assert!(retry.writes.is_empty());
}

#[test]
fn a_lost_cookie_is_recovered_from_kv_even_after_twilios_four_hours() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    for _ in 0..3 {
        phone.send("hi");
    }
    phone.jar = None;
    phone.sent += 5 * 3_600 / 10; // five hours later: the cookie would have expired anyway
    let out = phone.send("back");
    assert_eq!(text(&out), numbered(4));
    assert_eq!(out.response.log.source, Some(StateSource::Kv));
}

#[test]
fn kv_newer_than_a_stale_pointer_wins_and_an_older_one_loses() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    for i in 1..=3 {
        phone.send(&long_body(i));
    }
    let stale = phone.jar.clone();
    assert!(stale.as_deref().unwrap().starts_with("sms_state=p1."));
    phone.send(&long_body(4));
    // Twilio hands back the older pointer cookie: the pair's newer entry wins.
    phone.jar = stale;
    assert_eq!(text(&phone.send("x")), numbered(5));
}

#[test]
fn a_broken_kv_never_fails_the_reply() {
    let c = config(&[]);
    let store = MemStore {
        broken: true,
        ..Default::default()
    };
    let mut phone = Phone::new(&c, Some(&store));
    let first = phone.send("hi");
    assert_eq!(first.response.status, 200);
    assert_eq!(first.response.log.kv_error.as_deref(), Some("KV is down"));
    for i in 2..=3 {
        assert_eq!(text(&phone.send(&long_body(i))), numbered(i));
    }
    // The cookie is a pointer now and KV cannot give the state back: its summary keeps
    // the count exact (the turns are lost).
    assert!(phone.jar.as_deref().unwrap().starts_with("sms_state=p1."));
    let out = phone.send("x");
    assert_eq!(
        (out.response.status, text(&out)),
        (200, numbered(4).as_str())
    );
    assert_eq!(out.response.log.source, Some(StateSource::Cookie));
}

#[test]
fn reset_forgets_the_cookie_and_the_kv_entry() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    phone.send("hi");
    phone.send("hi");
    assert_eq!(store.map.borrow().len(), 1);
    let out = phone.send("  Reset ");
    assert_eq!(text(&out), RESET_REPLY);
    let set = out.response.set_cookie.as_deref().unwrap();
    assert!(set.starts_with(&format!("{COOKIE_NAME}=;")) && set.contains("Max-Age=0"));
    assert!(store.map.borrow().is_empty());
    assert_eq!(
        text(&phone.send("hi")),
        "Hello, thanks for the new message."
    );
}

#[test]
fn the_reset_keyword_is_configurable() {
    let c = config(&[("RESET_KEYWORD", "forget me")]);
    let mut phone = Phone::new(&c, None);
    phone.send("hi");
    assert_eq!(text(&phone.send("reset")), numbered(2));
    assert_eq!(text(&phone.send("FORGET ME")), RESET_REPLY);
}

#[test]
fn stop_gets_no_reply_but_still_counts() {
    let c = config(&[]);
    let mut phone = Phone::new(&c, None);
    phone.send("hi");
    let out = phone.send("stop");
    assert_eq!(
        out.response.body,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#
    );
    assert_eq!(out.response.log.count, Some(2));
    assert_eq!(text(&phone.send("start")), numbered(3));
}

#[test]
fn a_retry_of_a_spilled_conversation_keeps_its_pointer_and_writes_nothing() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    for i in 1..=3 {
        phone.send(&long_body(i));
    }
    let pointer = phone.jar.clone().unwrap();
    assert!(pointer.starts_with("sms_state=p1."));
    let retry = phone.deliver(&format!("SM{:032}", 3), &long_body(3));
    assert_eq!(retry.response.log.outcome, "retry");
    assert_eq!(text(&retry), numbered(3));
    assert!(retry.writes.is_empty());
    assert!(phone.jar.as_deref().unwrap().starts_with("sms_state=p1."));
    assert_eq!(text(&phone.send("x")), numbered(4));
}

#[test]
fn a_retry_gets_the_first_answer_from_the_kept_turn() {
    let c = config(&[]);
    let mut phone = Phone::new(&c, None);
    phone.send("one");
    let second = phone.send("two");
    let retry = phone.deliver(&format!("SM{:032}", 2), "two");
    assert_eq!(retry.response.log.outcome, "retry");
    assert_eq!(text(&retry), text(&second));
    assert_eq!(text(&phone.send("three")), numbered(3));
}

#[test]
fn a_status_callback_on_the_same_url_is_not_a_message() {
    let c = config(&[]);
    let store = MemStore::default();
    let mut phone = Phone::new(&c, Some(&store));
    phone.send("hi");
    let form = serde_urlencoded::to_string([
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("MessageSid", "SM00000000000000000000000000000099"),
        ("MessageStatus", "delivered"),
        ("From", "+15005550006"),
        ("To", "+14155550100"),
    ])
    .unwrap();
    let sig = sign(URL, &form);
    let req = HttpRequest {
        method: "POST",
        url: URL,
        content_type: Some("application/x-www-form-urlencoded"),
        signature: Some(&sig),
        cookie: phone.jar.as_deref(),
        body: form.as_bytes(),
    };
    let out = pollster::block_on(handle(Ok(&c), &req, NOW + 100, Some(&store)));
    assert_eq!(out.response.status, 200);
    assert_eq!(out.response.body, twiml::render(&Reply::none()));
    assert_eq!(out.response.log.outcome, "status_callback");
    assert!(out.response.set_cookie.is_none() && out.writes.is_empty());
    assert_eq!(text(&phone.send("again")), numbered(2));
}

#[test]
fn a_stale_cookie_does_not_roll_the_count_back_in_the_same_isolate() {
    for with_kv in [false, true] {
        let c = config(&[]);
        let store = MemStore::default();
        let recent = RecentStates::default();
        let mut phone = Phone::new(&c, with_kv.then_some(&store));
        phone.recent = Some(&recent);
        phone.send("one");
        let stale = phone.jar.clone();
        phone.send("two");
        phone.send("three");
        // Twilio races close messages and hands back the cookie of message 1.
        phone.jar = stale;
        let out = phone.send("four");
        assert_eq!(text(&out), numbered(4), "with_kv={with_kv}");
        assert_eq!(out.response.log.source, Some(StateSource::Memory));
        assert_eq!(
            *store.reads.borrow(),
            u32::from(with_kv),
            "no KV read beyond the first"
        );
        // A retry that comes with the cookie from before its first delivery is a retry.
        phone.jar = phone
            .cookies
            .get(2)
            .map(|c| c.split(';').next().unwrap().to_string());
        let retry = phone.deliver(&format!("SM{:032}", 4), "four");
        assert_eq!(retry.response.log.outcome, "retry");
        assert_eq!(text(&retry), numbered(4));
        if !with_kv {
            // Memory does not stand in for a cookie that is gone or forged.
            phone.jar = Some("sms_state=e1.forged.cookie.value".into());
            assert_eq!(text(&phone.send("x")), "Hello, thanks for the new message.");
        }
    }
}

#[test]
fn after_reset_even_a_pre_reset_cookie_starts_afresh_in_the_same_isolate() {
    for with_kv in [false, true] {
        let c = config(&[]);
        let store = MemStore::default();
        let recent = RecentStates::default();
        let mut phone = Phone::new(&c, with_kv.then_some(&store));
        phone.recent = Some(&recent);
        phone.send("one");
        phone.send("two");
        let before_reset = phone.jar.clone();
        assert_eq!(text(&phone.send("reset")), RESET_REPLY);
        assert!(phone.jar.is_none());
        // Twilio should have deleted the cookie; it sends the old one back anyway.
        phone.jar = before_reset.clone();
        assert_eq!(
            text(&phone.send("x")),
            "Hello, thanks for the new message.",
            "with_kv={with_kv}"
        );
        assert_eq!(text(&phone.send("y")), numbered(2));
        // And after a new conversation began without any cookie, too.
        assert_eq!(text(&phone.send("reset")), RESET_REPLY);
        assert_eq!(text(&phone.send("a")), "Hello, thanks for the new message.");
        phone.jar = before_reset;
        assert_eq!(text(&phone.send("b")), numbered(2), "with_kv={with_kv}");
    }
}

#[test]
fn with_kv_a_lost_cookie_is_recovered_from_memory_before_kv_shows_the_write() {
    let c = config(&[]);
    let store = MemStore::default();
    let recent = RecentStates::default();
    let mut phone = Phone::new(&c, Some(&store));
    phone.recent = Some(&recent);
    phone.send("one");
    phone.send("two");
    // KV has not caught up with anything yet, and Twilio lost the cookie.
    store.map.borrow_mut().clear();
    phone.jar = None;
    let out = phone.send("three");
    assert_eq!(text(&out), numbered(3));
    assert_eq!(out.response.log.source, Some(StateSource::Memory));
}
