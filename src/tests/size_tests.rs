//! A state too large to keep, through the whole path: with the cookie alone, with KV and with
//! the objects, a record over the largest store's limit is written nowhere, the reply still
//! goes out, the log says `state_too_large` with the size and the limit, and the next text
//! goes on from the last state kept.

use std::time::Duration;

use crate::harness::{block_on, TestPhone};
use crate::prelude::*;
use crate::storage::Store;

/// Keeps what it is told to: `grow N` adds N bytes to its state, anything else tells how
/// many it has.
struct Hoard;

impl Conversation for Hoard {
    const NAME: &'static str = "hoard";
    type State = String;

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Hoard)
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        _: &View<'_>,
        hoard: &mut String,
        _: &Context<'_>,
    ) -> Reply {
        if let Some(n) = message.body.strip_prefix("grow ") {
            grow(hoard, n.parse().unwrap_or(0));
        }
        let reply = Reply::text(format!("have {}", hoard.len()));
        if message.body == "later" {
            return reply.follow_up_after(Duration::from_secs(60));
        }
        reply
    }

    /// Grows past every store's limit, and says how much it has.
    async fn follow_up(&self, _: &View<'_>, hoard: &mut String, _: &Context<'_>) -> Reply {
        grow(hoard, 1_100_000);
        Reply::text(format!("now {}", hoard.len()))
    }
}

/// Adds `n` digits, in turn: nothing a seal could shorten.
fn grow(hoard: &mut String, n: usize) {
    hoard.extend((0..n).map(|i| char::from(b'0' + (i % 10) as u8)));
}

/// Past the cookie's 4096 bytes once the state is sealed (base64 makes 4/3 of it).
const OVER_COOKIE: &str = "grow 6000";
/// Past the 1 MiB that a sealed value opens up to, in KV or an object.
const OVER_STORES: &str = "grow 1100000";

/// The `state_too_large` note of a log line, if any.
fn too_large_note(log_line: &str) -> Option<&str> {
    let key = "\"state_too_large\":\"";
    let at = log_line.find(key)? + key.len();
    log_line[at..].split('"').next()
}

#[test]
fn with_the_cookie_alone_a_state_over_it_is_refused_and_the_last_kept_goes_on() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().allowing_too_large();
    assert_eq!(phone.text("grow 1000").texts(), ["have 1000"]);
    let kept_cookie = phone.cookie().map(str::to_string);
    for _ in 0..2 {
        // Every such turn is answered and logged, and the cookie Twilio holds stays.
        let refused = phone.text(OVER_COOKIE);
        assert_eq!(refused.texts(), ["have 7000"]);
        assert_eq!(refused.set_cookie, None);
        let note = too_large_note(&refused.log_line).expect(&refused.log_line);
        assert!(
            note.ends_with("bytes, over the cookie's limit of 4096"),
            "{note}"
        );
        let size: usize = note.split(' ').next().unwrap().parse().unwrap();
        assert!(size > 4096, "{note}");
        assert_eq!(phone.cookie().map(str::to_string), kept_cookie);
    }
    // The isolate did not remember it either: a new isolate and the same one agree.
    assert_eq!(phone.text("show").texts(), ["have 1000"]);
    phone.new_isolate();
    assert_eq!(phone.text("show").texts(), ["have 1000"]);
}

#[test]
fn with_kv_a_state_over_the_cookie_spills_and_one_over_kv_is_refused() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().with_kv();
    phone = phone.allowing_too_large();
    let spilled = phone.text(OVER_COOKIE);
    assert_eq!(too_large_note(&spilled.log_line), None);
    let refused = phone.text(OVER_STORES);
    assert_eq!(refused.texts(), ["have 1106000"]);
    assert_eq!(refused.set_cookie, None);
    let note = too_large_note(&refused.log_line).expect(&refused.log_line);
    assert!(note.ends_with("over the kv's limit of 1048576"), "{note}");
    // Nothing over the limit reached KV: every value there still opens.
    let kv = phone.kv().unwrap();
    for key in kv.keys() {
        let value = block_on(kv.get(&key)).unwrap().unwrap();
        assert!(value.len() <= 1 << 20, "{key}: {} bytes", value.len());
    }
    // The next text goes on from the spilled state, here and in an isolate that never saw it.
    assert_eq!(phone.text("show").texts(), ["have 6000"]);
    phone.new_isolate();
    phone.lose_cookie();
    assert_eq!(phone.text("show").texts(), ["have 6000"]);
}

#[test]
fn with_the_objects_a_state_over_the_object_is_refused_and_the_kept_record_stays() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().with_objects();
    phone = phone.allowing_too_large();
    let kept = phone.text(OVER_COOKIE);
    assert_eq!(too_large_note(&kept.log_line), None);
    let refused = phone.text(OVER_STORES);
    assert_eq!(refused.texts(), ["have 1106000"]);
    assert_eq!(refused.set_cookie, None);
    let note = too_large_note(&refused.log_line).expect(&refused.log_line);
    assert!(
        note.ends_with("over the object's limit of 1048576"),
        "{note}"
    );
    // The object keeps the record from before, which the next text (and the cookie-less
    // one after it) goes on from.
    assert_eq!(phone.text("show").texts(), ["have 6000"]);
    phone.lose_cookie();
    assert_eq!(phone.text("show").texts(), ["have 6000"]);
}

#[test]
fn a_follow_up_whose_state_is_too_large_goes_out_once_and_the_kept_record_stays() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().with_objects();
    phone = phone.with_outbound();
    assert_eq!(phone.text("later").texts(), ["have 0"]);
    let objects = phone.objects().unwrap();
    objects.set_now(phone.now() + 61);
    let done = objects.fire_alarms();
    let line = done[0].as_ref().expect("the follow-up went out");
    let note = too_large_note(line).expect(line);
    assert!(
        note.ends_with("bytes, over the object's limit of 1048576"),
        "{note}"
    );
    let texts: Vec<String> = phone.sent().iter().map(|m| m.text().to_string()).collect();
    assert_eq!(texts, ["now 1100000"]);
    // Nothing is tried again, and the person's next text goes on from the record kept.
    objects.set_now(phone.now() + 3_600);
    assert!(objects.fire_alarms().is_empty());
    assert_eq!(phone.sent().len(), 1);
    assert_eq!(phone.text("show").texts(), ["have 0"]);
}

#[test]
#[should_panic(
    expected = "the conversation \"hoard\" left a state too large to keep (the cookie alone): "
)]
fn the_test_phone_fails_a_test_whose_state_is_too_large_for_its_stores() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap();
    phone.text(OVER_COOKIE);
}

#[test]
fn the_test_phone_takes_a_state_that_a_bound_store_holds() {
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().with_kv();
    assert_eq!(phone.text(OVER_COOKIE).texts(), ["have 6000"]);
    let mut phone = TestPhone::new::<Hoard>(&[]).unwrap().with_objects();
    assert_eq!(phone.text(OVER_COOKIE).texts(), ["have 6000"]);
}
