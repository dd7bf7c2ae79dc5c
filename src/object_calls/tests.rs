use super::*;

/// A worker and an object of different versions meet during a deploy: the answer's
/// outcome and source keep the names the log uses.
#[test]
fn the_answer_names_its_outcome_and_source_as_the_log_does() {
    let answer = ObjectAnswer {
        body: String::new(),
        set_cookie: None,
        outcome: AnsweredOutcome::OptOut,
        source: Some(Source::Cookie),
        count: Some(2),
        writes: Vec::new(),
        segments: Vec::new(),
        notes: r#""studio_stopped":"a limit""#.into(),
    };
    let json = serde_json::to_string(&answer).unwrap();
    assert!(json.contains(r#""outcome":"opt_out""#), "{json}");
    assert!(json.contains(r#""source":"cookie""#), "{json}");
    let back: ObjectAnswer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, answer);
    let bad = json.replace("opt_out", "shrug");
    assert!(
        serde_json::from_str::<ObjectAnswer>(&bad).is_err(),
        "an unknown outcome is refused"
    );
}
