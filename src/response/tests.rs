use super::*;

#[test]
fn errors_are_logged_as_their_text() {
    let log = LogEvent {
        kv_error: Some(StoreError::TimedOut),
        object_error: Some(ObjectError::Failed("timed out".into())),
        seal_error: Some(SealError::NoRandomness),
        state_error: Some(StateError("poisoned".into())),
        ..LogEvent::new(Outcome::Reply, None)
    };
    let line: serde_json::Value = serde_json::from_str(&log.to_json(200, 1)).unwrap();
    assert_eq!(line["kv_error"], "KV read timed out");
    assert_eq!(line["object_error"], "timed out");
    assert_eq!(line["seal_error"], "no randomness for the nonce");
    assert!(line["state_error"].as_str().unwrap().contains("poisoned"));
    // Without errors the fields are absent, as before.
    let quiet = LogEvent::new(Outcome::Reply, None).to_json(200, 1);
    assert!(!quiet.contains("error"), "{quiet}");
}

#[test]
fn segments_are_listed_per_message_and_absent_without_messages() {
    use crate::twilio::segments::segments;
    let log = LogEvent {
        segments: vec![segments("hi"), segments("🐶")],
        ..LogEvent::new(Outcome::Reply, None)
    };
    let line: serde_json::Value = serde_json::from_str(&log.to_json(200, 1)).unwrap();
    assert_eq!(
        line["segments"],
        serde_json::json!([
            {"encoding": "gsm7", "count": 1, "units": 2},
            {"encoding": "ucs2", "count": 1, "units": 2},
        ])
    );
    let silent = LogEvent::new(Outcome::OptOut, None).to_json(200, 1);
    assert!(!silent.contains("segments"), "{silent}");
}

#[test]
fn the_log_line_escapes_a_sender_that_needs_it_and_not_one_that_does_not() {
    for from in ["+14*******77", "a\"b\\c\u{1}d\u{7f}é"] {
        let log = LogEvent {
            from: Some(from.to_string()),
            source: Some(crate::storage::Source::Cookie),
            ..LogEvent::new(Outcome::Reply, None)
        };
        let json = log.to_json(200, 1);
        let line: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(line["from"], from, "{json}");
        assert_eq!(
            (line["outcome"].as_str(), line["source"].as_str()),
            (Some("reply"), Some("cookie"))
        );
    }
}
