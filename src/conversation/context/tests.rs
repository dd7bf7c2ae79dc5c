use super::*;
use crate::conversation::client::NoClient;

#[test]
fn a_context_for_no_message_has_no_key_and_adds_no_header() {
    let none = |_: &str| None;
    let ctx = Context::new(Vars::new(&none), Rc::new(NoClient), 1);
    assert_eq!(ctx.idempotency_key(), None);
    let request = ClientRequest::get("https://x.test").idempotency_key(ctx.idempotency_key());
    assert!(request.headers.is_empty());
    let ctx = ctx.for_message("AC1", "SM1");
    assert_eq!(
        ctx.idempotency_key(),
        Some(idempotency_key("AC1", "SM1").as_str())
    );
    let request = ClientRequest::get("https://x.test").idempotency_key("k");
    assert_eq!(request.header_value("Idempotency-Key"), Some("k"));
}

/// DEV_RECORD_FETCHES: each call and its answer become a transcript's fake, one the
/// transcript reader takes as it is.
#[test]
fn recorded_calls_are_transcript_fakes() {
    let http = Rc::new(crate::harness::FakeHttp::default());
    http.respond("https://api.test/dogs?b=2", 200, r#"{"ok":true}"#);
    http.fail("https://api.test/slow", ClientError::Timeout);
    let lookup = |_: &str| None;
    let ctx = Context::new(Vars::new(&lookup), http, 1).recording();
    assert_eq!(ctx.take_recorded(), None, "nothing called yet");
    let _ = crate::harness::block_on(ctx.fetch(ClientRequest::get("https://api.test/dogs?b=2")));
    let _ = crate::harness::block_on(ctx.fetch(ClientRequest::get("https://api.test/slow")));
    let fakes = ctx.take_recorded().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&fakes).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!([
            {"fake": {"method": "GET", "url": "https://api.test/dogs?b=2", "status": 200, "body": "{\"ok\":true}"}},
            {"fake": {"method": "GET", "url": "https://api.test/slow", "error": "timeout"}},
        ])
    );
    let transcript = format!(
        r#"{{"format": "{}", "conversation": "counter", "steps": {fakes}}}"#,
        crate::harness::TRANSCRIPT_FORMAT
    );
    crate::harness::Transcript::from_json(&transcript).unwrap();
}
