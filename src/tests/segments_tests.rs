//! The whole webhook path: the log line's `segments`, `SMART_ENCODING` before the reply is
//! rendered and kept (a retry, and the pair's object, give the same text).

use crate::conversations::Counter;
use crate::harness::TestPhone;
use crate::twilio::segments::*;

const CURLY: &str =
    "“Hi {name}” – it’s message {count}… and we’re glad you’re here, truly: “welcome”!";

fn phone(smart: &str) -> TestPhone {
    let vars = [("REPLY_FIRST", CURLY), ("SMART_ENCODING", smart)];
    TestPhone::new::<Counter>(&vars).unwrap()
}

#[test]
fn the_log_and_the_test_phone_count_the_same_segments() {
    let mut phone = phone("false");
    let answer = phone.text("hi");
    assert!(answer.texts()[0].starts_with("“Hi Friend”"));
    let s = answer.segments();
    assert_eq!((s[0].encoding, s[0].count), (Encoding::Ucs2, 2));
    assert_eq!(answer.logged_segments, s);
    let retry = phone.retry();
    assert_eq!(retry.outcome, "retry");
    assert_eq!(retry.logged_segments, s, "a retry logs what it sends again");
}

/// During a deploy a new worker meets an object of the previous version.
#[test]
fn an_older_objects_answer_without_segments_still_reads() {
    let json =
        r#"{"body":"","set_cookie":null,"outcome":"reply","source":null,"count":1,"writes":[]}"#;
    let answer: crate::object_calls::ObjectAnswer = serde_json::from_str(json).unwrap();
    assert!(answer.segments.is_empty());
}

#[cfg(feature = "smart-encoding")]
#[test]
fn smart_encoding_is_applied_before_the_reply_is_rendered_and_kept() {
    for mut phone in [phone("true"), phone("true").with_objects()] {
        let answer = phone.text("hi");
        let text = answer.texts()[0];
        assert!(
            text.starts_with("\"Hi Friend\" - it's message 1..."),
            "{text}"
        );
        let s = answer.segments();
        assert_eq!((s[0].encoding, s[0].count), (Encoding::Gsm7, 1));
        assert_eq!(answer.logged_segments, s);
        let retry = phone.retry();
        assert_eq!(
            retry.texts(),
            answer.texts(),
            "the kept reply is the encoded one"
        );
        assert_eq!(retry.logged_segments, s);
    }
}
