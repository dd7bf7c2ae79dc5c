use std::cell::RefCell;
use std::future::Future;
use std::task::Context as TaskContext;

use super::*;
use crate::conversations::{Counter, Survey};
use crate::harness::{TestPhone, TEST_ACCOUNT_SID};
use crate::storage::Source;

const API: &str = "https://api.test";
pub(super) const KEY: &str = "outbound-key-0123456789";

pub(super) fn messages_url() -> String {
    format!("{API}/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json")
}

fn counter() -> TestPhone {
    TestPhone::new::<Counter>(&[("TWILIO_API_BASE_URL", API)])
        .unwrap()
        .with_objects()
}

/// The survey reminding after 60 s, with the objects, starts enabled and a Messages API that
/// takes every message.
pub(super) fn survey(extra: &[(&str, &str)]) -> TestPhone {
    let mut vars = vec![
        ("TWILIO_API_BASE_URL", API),
        ("SURVEY_REMINDER_SECONDS", "60"),
        ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
        ("OUTBOUND_API_KEY", KEY),
    ];
    vars.extend_from_slice(extra);
    let phone = TestPhone::new::<Survey>(&vars).unwrap().with_objects();
    phone.http().respond(
        &messages_url(),
        201,
        r#"{"sid": "SMsent0001", "status": "queued"}"#,
    );
    phone
}

#[test]
fn a_stale_or_missing_cookie_never_rolls_the_conversation_back() {
    let mut phone = counter();
    phone.text("one");
    let after_one = phone.cookie().map(str::to_string);
    phone.text("two");
    phone.text("three");
    phone.new_isolate();
    phone.set_cookie(after_one);
    let next = phone.text("four");
    assert_eq!(next.texts(), ["Hello, thanks for message number 4"]);
    assert_eq!(next.source, Some(Source::Object));
    phone.lose_cookie();
    phone.new_isolate();
    assert_eq!(
        phone.text("five").texts(),
        ["Hello, thanks for message number 5"]
    );
    // A retry is still answered without counting.
    assert_eq!(
        phone.retry().texts(),
        ["Hello, thanks for message number 5"]
    );
    assert_eq!(phone.count(), 5);
}

#[test]
fn an_unreachable_object_is_answered_from_the_cookie_and_the_newer_copy_wins_later() {
    let mut phone = counter();
    phone.text("one");
    phone.text("two");
    phone.objects().unwrap().set_unreachable(true);
    let three = phone.text("three");
    assert_eq!((three.status, three.source), (200, Some(Source::Cookie)));
    assert_eq!(three.texts(), ["Hello, thanks for message number 3"]);
    phone.objects().unwrap().set_unreachable(false);
    // The object holds 2, the cookie 3: the newer copy wins.
    let four = phone.text("four");
    assert_eq!(four.texts(), ["Hello, thanks for message number 4"]);
    assert_eq!(four.source, Some(Source::Cookie));
    assert_eq!(phone.text("five").source, Some(Source::Object));
}

#[test]
fn a_question_left_unanswered_gets_one_reminder_after_the_delay_and_not_before() {
    let mut phone = survey(&[]);
    assert_eq!(phone.text("hi").texts(), ["Hi! What's your name?"]);
    phone.wait(59);
    assert!(phone.sent().is_empty(), "not before the delay");
    phone.wait(2);
    let sent = phone.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text(), "Just checking in: What's your name?");
    assert_eq!(
        (sent[0].to.as_str(), sent[0].from.as_str()),
        ("+14155550100", "+15005550006")
    );
    phone.wait(3600);
    assert_eq!(phone.sent().len(), 1, "one reminder, never a stream");
    // The reminder is a turn; the count is still the person's messages.
    let record = phone.record();
    assert_eq!(record.count, 1);
    assert_eq!(
        record.turns.last().map(|t| t.message_sid.as_str()),
        Some("SMsent0001")
    );
    // The conversation goes on.
    assert_eq!(
        phone.text("Rey").texts(),
        ["Thanks, Rey. What's your 5-digit ZIP code?"]
    );
}

#[test]
fn an_answer_in_time_cancels_the_reminder_and_asks_for_the_next_one() {
    let mut phone = survey(&[]);
    phone.text("hi");
    phone.wait(30);
    phone.text("Rey");
    phone.wait(40);
    assert!(
        phone.sent().is_empty(),
        "the name question was answered in time"
    );
    phone.wait(30);
    let sent = phone.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text().contains("ZIP"), "{:?}", sent[0]);
    // Completing the survey leaves nothing to remind.
    for text in ["94105", "Y"] {
        phone.text(text);
    }
    phone.wait(3600);
    assert_eq!(phone.sent().len(), 1);
}

#[test]
fn a_messages_api_that_certainly_did_not_take_it_is_retried_a_bounded_number_of_times() {
    let mut phone = survey(&[]);
    phone.http().respond(
        &messages_url(),
        429,
        r#"{"code": 20429, "message": "Too Many Requests"}"#,
    );
    phone.text("hi");
    phone.wait(24 * 3600);
    assert_eq!(phone.sent().len(), MAX_SEND_ATTEMPTS as usize);
    assert_eq!(
        phone.record().turns.len(),
        1,
        "nothing sent, nothing recorded"
    );
    // A refusal (the person opted out) is not retried.
    let mut phone = survey(&[]);
    phone.http().respond(
        &messages_url(),
        400,
        r#"{"code": 21610, "message": "unsubscribed"}"#,
    );
    phone.text("hi");
    phone.wait(24 * 3600);
    assert_eq!(phone.sent().len(), 1);
}

#[test]
fn follow_ups_need_the_objects_binding() {
    let mut phone = TestPhone::new::<Survey>(&[("SURVEY_REMINDER_SECONDS", "60")]).unwrap();
    phone.text("hi");
    phone.wait(3600);
    assert!(phone.http().requests().is_empty());
}

#[test]
fn starting_a_conversation_refuses_what_it_must() {
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    // No OUTBOUND_API_KEY: the route does not exist.
    let mut off = TestPhone::new::<Survey>(&[]).unwrap().with_objects();
    assert_eq!(off.start_conversation("x", json).0, 404);
    let mut phone = survey(&[]);
    assert_eq!(phone.start_conversation("wrong", json).0, 401);
    assert_eq!(phone.start_conversation("", json).0, 401);
    assert_eq!(phone.start_conversation(KEY, "{not json").0, 400);
    assert_eq!(phone.start_conversation(KEY, "[1]").0, 400);
    for bad in [
        r#"{"to": "4155550100", "from": "+15005550006"}"#,
        r#"{"to": "+14155550100"}"#,
        r#"{"to": "+1 415", "from": "+15005550006"}"#,
    ] {
        let (status, body) = phone.start_conversation(KEY, bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = phone.start_conversation(
        KEY,
        r#"{"to": "whatsapp:+14155550100", "from": "+15005550006"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("same channel"), "{body}");
    // A WhatsApp start has no window open: a template, or nothing.
    let (status, body) = phone.start_conversation(
        KEY,
        r#"{"to": "whatsapp:+14155550100", "from": "whatsapp:+15005550006"}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("24 hours"), "{body}");
}

#[test]
fn starting_a_conversation_needs_the_account_and_the_objects_binding() {
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    // Without the account to send from: a configuration error.
    let mut no_account = TestPhone::new::<Survey>(&[("OUTBOUND_API_KEY", KEY)])
        .unwrap()
        .with_objects();
    let (status, body) = no_account.start_conversation(KEY, json);
    assert_eq!(status, 500);
    assert!(body.contains("TWILIO_ACCOUNT_SID"), "{body}");
    // Without the objects binding: 503 naming it.
    let mut unbound = TestPhone::new::<Survey>(&[
        ("OUTBOUND_API_KEY", KEY),
        ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
    ])
    .unwrap();
    let (status, body) = unbound.start_conversation(KEY, json);
    assert_eq!(status, 503);
    assert!(body.contains("CONVERSATION_OBJECTS"), "{body}");
}

#[test]
fn the_counter_starts_a_conversation_only_with_a_body() {
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let mut counter = TestPhone::new::<Counter>(&[])
        .unwrap()
        .with_objects()
        .with_outbound();
    assert_eq!(counter.start(json).0, 400);
    assert!(counter.sent().is_empty());
    let with_body = r#"{"to": "+14155550100", "from": "+15005550006", "body": "Hi from us"}"#;
    assert_eq!(counter.start(with_body).0, 201);
    assert_eq!(counter.sent()[0].text(), "Hi from us");
}

#[test]
fn a_started_conversation_continues_with_the_reply_that_has_no_cookie() {
    let mut phone = survey(&[]);
    let (status, body) =
        phone.start_conversation(KEY, r#"{"to": "+14155550100", "from": "+15005550006"}"#);
    assert_eq!(status, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["sid"], "SMsent0001");
    assert_eq!(phone.sent()[0].text(), "Hi! What's your name?");
    assert!(phone.cookie().is_none());
    assert_eq!(
        phone.text("Rey").texts(),
        ["Thanks, Rey. What's your 5-digit ZIP code?"]
    );
}

#[test]
fn a_refused_start_answers_502_and_records_nothing() {
    let mut phone = survey(&[]);
    phone.http().respond(
        &messages_url(),
        400,
        r#"{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}"#,
    );
    let (status, body) =
        phone.start_conversation(KEY, r#"{"to": "+14155550100", "from": "+15005550006"}"#);
    assert_eq!(status, 502);
    assert!(body.contains("21211"), "{body}");
    // The person texting now starts the survey from its beginning.
    assert_eq!(phone.text("hello").texts(), ["Hi! What's your name?"]);
}

#[test]
fn turns_wait_for_each_other() {
    let turnstile = Turnstile::default();
    let order = RefCell::new(Vec::new());
    let first = async {
        let _turn = turnstile.enter().await;
        order.borrow_mut().push("first in");
        crate::harness::block_on(async {});
        order.borrow_mut().push("first out");
    };
    crate::harness::block_on(first);
    let guard = crate::harness::block_on(turnstile.enter());
    let mut second = Box::pin(async {
        let _turn = turnstile.enter().await;
        order.borrow_mut().push("second");
    });
    let waker = std::task::Waker::noop();
    let mut cx = TaskContext::from_waker(waker);
    assert!(
        second.as_mut().poll(&mut cx).is_pending(),
        "waits while the turn is held"
    );
    drop(guard);
    assert!(second.as_mut().poll(&mut cx).is_ready());
    assert_eq!(*order.borrow(), ["first in", "first out", "second"]);
}

#[test]
fn the_object_keeps_every_turn_the_cookie_has_no_room_for() {
    let mut phone = counter();
    for i in 0..10 {
        phone.text(&format!("{i} {}", "x".repeat(500)));
    }
    assert_eq!(
        phone.record().turns.len(),
        10,
        "the object's record is whole"
    );
    let cookie = phone.cookie().unwrap().to_string();
    assert!(cookie.len() <= 4096);
    phone.objects().unwrap().set_unreachable(true);
    // The cookie carries a trimmed copy, with the count exact.
    let r = phone.text("and now?");
    assert_eq!(r.texts(), ["Hello, thanks for message number 11"]);
}

mod sends_tests;
