//! The idempotency key a conversation sends with its calls, through the whole path: the same
//! on every retry of one message, whichever isolate or object answers it.

use crate::conversation::idempotency_key;
use crate::harness::{TestPhone, TEST_ACCOUNT_SID};
use crate::prelude::*;

/// Orders something from an outside API for every message, with the message's key.
struct Orders;

impl Conversation for Orders {
    const NAME: &'static str = "orders";
    type State = ();

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Orders)
    }

    async fn reply(
        &self,
        _: &InboundMessage,
        _: &View<'_>,
        _: &mut (),
        ctx: &Context<'_>,
    ) -> Reply {
        let order = ClientRequest::post_json("https://shop.test/orders", &"a dog bed")
            .idempotency_key(ctx.idempotency_key());
        match ctx.fetch(order).await {
            Ok(r) if r.is_success() => Reply::text("ordered"),
            _ => Reply::text("not ordered"),
        }
    }
}

fn orders() -> TestPhone {
    let phone = TestPhone::new::<Orders>(&[]).unwrap();
    phone.http().respond("https://shop.test/orders", 201, "{}");
    phone
}

/// The `Idempotency-Key` of each request the phone's fake HTTP client saw.
fn keys(phone: &TestPhone) -> Vec<String> {
    phone
        .http()
        .requests()
        .iter()
        .map(|r| r.header_value("Idempotency-Key").unwrap_or("").to_string())
        .collect()
}

#[test]
fn each_message_has_its_own_key_and_it_shows_no_sid() {
    let mut phone = orders();
    phone.text("one");
    phone.text("two");
    let keys = keys(&phone);
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    for key in &keys {
        assert_eq!(key.len(), 64, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        assert!(!key.contains(&format!("{:032x}", 1)), "no raw SID in {key}");
    }
    assert_eq!(
        keys[0],
        idempotency_key(TEST_ACCOUNT_SID, &format!("SM{:032x}", 1)),
        "derived from the AccountSid and the MessageSid only"
    );
    assert_ne!(idempotency_key("AC1", "SM1"), idempotency_key("AC", "1SM1"));
}

#[test]
fn a_retry_that_runs_reply_again_carries_the_same_key() {
    let mut phone = orders();
    phone.text("one");
    phone.text("two");
    // The same isolate remembers the answer: reply does not run.
    assert_eq!(phone.retry().outcome, "retry");
    assert_eq!(phone.http().requests().len(), 2);
    // Another isolate, and the retry comes with the cookie the first attempt came with
    // (`retry` sends the last message's, as Twilio does), from before the message: it
    // has not seen the message, and reply runs again (the documented case).
    phone.new_isolate();
    let again = phone.retry();
    assert_eq!((again.outcome, again.texts()), ("reply", vec!["ordered"]));
    let keys = keys(&phone);
    assert_eq!(keys.len(), 3);
    assert_eq!(
        keys[2], keys[1],
        "the receiver can tell it is the same order"
    );
}

#[test]
fn with_the_objects_a_retry_gets_the_kept_answer_unless_they_are_unreachable() {
    let mut phone = orders().with_objects();
    phone.text("one");
    phone.new_isolate();
    assert_eq!(phone.retry().outcome, "retry");
    assert_eq!(phone.http().requests().len(), 1, "reply ran once");

    // An object out of reach: the worker answers from the cookie, as without objects.
    phone.text("two");
    phone.objects().unwrap().set_unreachable(true);
    phone.new_isolate();
    phone.retry();
    let keys = keys(&phone);
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[2], keys[1]);
}
