//! The isolate's memory of the cookie values it sealed and opened: what it spares must not
//! change what a webhook loads or the cookie it answers with.

use std::time::Duration;

use super::*;
use crate::config::{Config, Vars};
use crate::conversation::{Reply, Turn};
use crate::harness::block_on;

const PAIR: Pair<'static> = Pair {
    account_sid: "AC1",
    to: "+15005550006",
    from: "+14155550100",
};
const NOW: u64 = 1_700_000_000;

fn settings(secret: &str, encrypt: bool) -> Settings {
    let lookup = |name: &str| match name {
        "SESSION_SECRET" => Some(secret.to_string()),
        "ENCRYPT_STATE" => Some(encrypt.to_string()),
        _ => None,
    };
    Config::from_vars(&Vars::new(&lookup)).unwrap().storage
}

fn secret() -> &'static str {
    "a-session-secret-of-at-least-32-bytes!!"
}

/// The pair's storage at `now`, with `memory` when given.
fn storage<'a>(s: &'a Settings, now: u64, memory: Option<&'a Memory>) -> Storage<'a, NoStore> {
    Storage::new(s, PAIR, now, None, memory)
}

/// The value of the `Set-Cookie` a save made.
fn value(saved: &Saved) -> String {
    crate::seal::our_cookie_values(saved.set_cookie.as_deref().unwrap()).remove(0)
}

/// One new message `sid` at `now`, answered with `reply`, from the jar's `cookie`: what it
/// loaded and what its save made.
fn message(
    s: &Settings,
    memory: Option<&Memory>,
    cookie: Option<&str>,
    sid: &str,
    now: u64,
    reply: Reply,
) -> (Loaded, Saved) {
    let storage = storage(s, now, memory);
    let header = cookie.map(|c| format!("sms_state={c}"));
    let mut loaded = block_on(storage.load(header.as_deref()));
    let mut record = Rc::unwrap_or_clone(std::mem::take(&mut loaded.record));
    record.count_message(sid, now);
    let turn = Turn {
        at: now,
        message_sid: sid.to_string(),
        inbound: "hi".to_string(),
        reply,
    };
    record.answered(turn, s.history);
    let saved = storage.save(&record, Change::Counted, &loaded);
    (loaded, saved)
}

/// A retry of message `sid` with the jar's `cookie`: what it loaded and its `Set-Cookie`.
fn retry(s: &Settings, memory: Option<&Memory>, cookie: &str, now: u64) -> (Loaded, Saved) {
    let storage = storage(s, now, memory);
    let loaded = block_on(storage.load(Some(&format!("sms_state={cookie}"))));
    let saved = storage.save(&loaded.record, Change::Unchanged, &loaded);
    (loaded, saved)
}

#[test]
#[cfg(cookie_memory)]
fn a_retry_answered_from_memory_sets_the_cookie_its_first_answer_set() {
    for encrypt in [false, true] {
        let s = settings(secret(), encrypt);
        let memory = Memory::default();
        let (_, first) = message(&s, Some(&memory), None, "SM1", NOW, Reply::text("one"));
        let c1 = value(&first);
        let (_, second) = message(
            &s,
            Some(&memory),
            Some(&c1),
            "SM2",
            NOW + 5,
            Reply::text("two"),
        );
        // Twilio did not get the answer to SM2 and sends it again, with the cookie before it.
        let (loaded, again) = retry(&s, Some(&memory), &c1, NOW + 20);
        assert_eq!(loaded.source, Some(Source::Memory));
        assert_eq!(loaded.record.count, 2);
        assert_eq!(again.set_cookie, second.set_cookie, "encrypt: {encrypt}");
        // And again: the cookie it came with is now one the isolate opened before.
        let (loaded, again) = retry(&s, Some(&memory), &c1, NOW + 30);
        assert_eq!(loaded.record.count, 2);
        assert_eq!(again.set_cookie, second.set_cookie, "encrypt: {encrypt}");
        // A new isolate seals the record anew; encrypted, under a fresh nonce.
        let (loaded, elsewhere) = retry(&s, None, &value(&second), NOW + 20);
        assert_eq!(loaded.record.count, 2);
        assert_eq!(elsewhere.set_cookie == second.set_cookie, !encrypt);
    }
}

#[test]
fn a_cookie_the_isolate_knows_loads_as_opening_it_loads() {
    for encrypt in [false, true] {
        let s = settings(secret(), encrypt);
        let memory = Memory::default();
        // A reply holding what sealing leaves out (its follow-up and template).
        let reply = Reply::text("later")
            .follow_up_after(Duration::from_secs(60))
            .with_template("HX1", "");
        let (_, first) = message(&s, Some(&memory), None, "SM1", NOW, reply);
        let c1 = value(&first);
        let remembered =
            block_on(storage(&s, NOW + 1, Some(&memory)).load(Some(&format!("sms_state={c1}"))));
        let opened = block_on(storage(&s, NOW + 1, None).load(Some(&format!("sms_state={c1}"))));
        assert_eq!(remembered.source, Some(Source::Cookie));
        assert_eq!(remembered.record, opened.record, "encrypt: {encrypt}");
        assert_eq!(opened.record.last_reply.follow_up(), None);
        // Its next message goes on from it.
        let (loaded, saved) = message(
            &s,
            Some(&memory),
            Some(&c1),
            "SM2",
            NOW + 2,
            Reply::text("two"),
        );
        assert_eq!(loaded.source, Some(Source::Cookie));
        let next = block_on(
            storage(&s, NOW + 3, None).load(Some(&format!("sms_state={}", value(&saved)))),
        );
        assert_eq!(next.record.count, 2);
    }
}

#[test]
fn a_known_cookie_expires_and_fails_as_the_value_does() {
    let s = settings(secret(), true);
    let memory = Memory::default();
    let (_, first) = message(&s, Some(&memory), None, "SM1", NOW, Reply::text("one"));
    let c1 = value(&first);
    let fresh = |cookie: &str, now: u64, memory: Option<&Memory>, s: &Settings| {
        let loaded = block_on(storage(s, now, memory).load(Some(&format!("sms_state={cookie}"))));
        loaded.source == Some(Source::New)
    };
    // Past the conversation's idle limit the cookie no longer opens, remembered or not.
    let expired = NOW + s.conversation_ttl_seconds;
    assert!(fresh(&c1, expired, None, &s));
    assert!(fresh(&c1, expired, Some(&memory), &s));
    assert!(!fresh(&c1, expired - 1, Some(&memory), &s));
    // The same payload with another MAC is not the value sealed.
    let (signed, mac) = c1.rsplit_once('.').unwrap();
    let first_char = if mac.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{first_char}{}", &mac[1..]);
    assert!(fresh(&forged, NOW + 1, Some(&memory), &s));
    // Nor does it open under another SESSION_SECRET, whatever the memory holds.
    let other = settings("another-session-secret-of-32-bytes!!!", true);
    assert!(fresh(&c1, NOW + 1, Some(&memory), &other));
}
