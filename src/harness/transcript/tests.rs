use super::error::diff;
use super::*;

fn lines(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

#[test]
fn the_diff_marks_what_changed_and_keeps_what_did_not() {
    let expected = lines(&["a", "b", "c"]);
    let got = lines(&["a", "B", "c", "d"]);
    assert_eq!(
        diff(&expected, &got),
        [(' ', "a"), ('-', "b"), ('+', "B"), (' ', "c"), ('+', "d")]
    );
    assert_eq!(diff(&[], &lines(&["x"])), [('+', "x")]);
}

#[test]
fn a_bad_step_is_named() {
    let json = |steps: &str| {
        format!(
            r#"{{"format": "{TRANSCRIPT_FORMAT}", "conversation": "counter", "steps": [{steps}]}}"#
        )
    };
    let cases = [
        (
            r#"{"text": "hi"}"#,
            "step 1: a text or retry lists its replies",
        ),
        (
            r#"{"text": "hi", "replies": []}, {"wait": 1, "text": "x"}"#,
            "step 2: a step is one of",
        ),
        (
            r#"{"fake": {"url": "https://x.test", "error": "boom"}}"#,
            "step 1: a fake's error is",
        ),
        (r#"{"retry": false, "replies": []}"#, "step 1: \"retry\""),
    ];
    for (steps, want) in cases {
        let error = Transcript::from_json(&json(steps)).unwrap_err().to_string();
        assert!(error.contains(want), "{steps}: {error}");
    }
    let other = r#"{"format": "v0", "conversation": "counter", "steps": []}"#;
    let error = Transcript::from_json(other).unwrap_err().to_string();
    assert!(error.contains("this build replays"), "{error}");
    let retry_first = json(r#"{"retry": true, "replies": []}"#);
    let error = Transcript::from_json(&retry_first)
        .unwrap()
        .replay(&crate::conversations::SHIPPED)
        .unwrap_err()
        .to_string();
    assert!(error.contains("step 1: a retry before any text"), "{error}");
}

#[test]
fn a_reply_that_differs_is_a_diff_naming_the_step() {
    let json = format!(
        r#"{{"format": "{TRANSCRIPT_FORMAT}", "conversation": "counter",
            "vars": {{"CONVERSATION_TTL_SECONDS": "600"}},
            "steps": [
              {{"fake": {{"url": "https://x.test", "error": "timeout"}}}},
              {{"text": "hi", "replies": ["Hello, thanks for the new message."]}},
              {{"wait": 700}},
              {{"text": "back", "replies": ["Hello, thanks for message number 2"]}}
            ]}}"#
    );
    let error = Transcript::from_json(&json)
        .unwrap()
        .replay(&crate::conversations::SHIPPED)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "transcript: step 4 (text \"back\"): the reply differs\n\
         - Hello, thanks for message number 2\n\
         + Hello, thanks for the new message."
    );
}
