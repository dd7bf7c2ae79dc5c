//! The idle limit follows the store: the cookie alone keeps a conversation 4 hours at most
//! (Twilio drops it then), KV and the objects up to `CONVERSATION_TTL_SECONDS`, 30 days.

use crate::conversations::Counter;
use crate::harness::TestPhone;

const DAY: u64 = 24 * 3600;
const A_DAY_IDLE: [(&str, &str); 1] = [("CONVERSATION_TTL_SECONDS", "172800")];

/// `phone` texts twice, waits a day, and texts again.
fn third_text_a_day_later(phone: &mut TestPhone) -> Vec<String> {
    phone.text("one");
    phone.text("two");
    phone.wait(DAY);
    assert_eq!(
        phone.cookie(),
        None,
        "Twilio dropped the cookie after 4 idle hours"
    );
    let third = phone.text("three");
    assert_eq!(third.status, 200);
    third.texts().into_iter().map(str::to_string).collect()
}

#[test]
fn with_the_objects_a_conversation_idle_a_day_continues() {
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE)
        .unwrap()
        .with_objects();
    assert_eq!(
        third_text_a_day_later(&mut phone),
        ["Hello, thanks for message number 3"]
    );
}

#[test]
fn with_kv_a_conversation_idle_a_day_continues() {
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE).unwrap().with_kv();
    phone.new_isolate();
    assert_eq!(
        third_text_a_day_later(&mut phone),
        ["Hello, thanks for message number 3"]
    );
}

#[test]
fn with_the_objects_the_conversation_still_ends_at_its_own_idle_limit() {
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE)
        .unwrap()
        .with_objects();
    phone.text("one");
    phone.wait(2 * DAY + 1);
    assert_eq!(
        phone.text("again").texts(),
        ["Hello, thanks for the new message."]
    );
}

#[test]
fn the_cookie_lives_four_hours_at_most_whatever_the_idle_limit() {
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE)
        .unwrap()
        .with_objects();
    let answer = phone.text("one");
    let set_cookie = answer.set_cookie.as_deref().unwrap();
    assert!(set_cookie.contains("; Max-Age=14400"), "{set_cookie}");
}

#[test]
fn without_a_store_a_day_idle_is_a_misconfiguration_naming_the_variable() {
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE).unwrap();
    let error = phone.check().unwrap_err();
    assert_eq!(error.variable, "CONVERSATION_TTL_SECONDS");
    assert!(error.problem.contains("CONVERSATIONS"), "{error}");
    let answer = phone.text("hi");
    assert_eq!(answer.status, 500);
    assert!(
        answer.body.contains("CONVERSATION_TTL_SECONDS"),
        "{}",
        answer.body
    );
}

#[test]
fn the_vars_and_the_store_may_come_in_either_order() {
    // The store after the vars: checked when the phone is used, with both known.
    let phone = TestPhone::new::<Counter>(&A_DAY_IDLE).unwrap();
    assert!(phone.check().is_err());
    let mut phone = phone.with_objects();
    assert!(phone.check().is_ok());
    assert_eq!(phone.text("hi").status, 200);
    // The store before more vars: a phone given the outbound settings keeps its objects.
    let mut phone = TestPhone::new::<Counter>(&A_DAY_IDLE)
        .unwrap()
        .with_kv()
        .with_outbound();
    assert!(phone.check().is_ok());
    assert_eq!(phone.text("hi").status, 200);
}
