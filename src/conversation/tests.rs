use super::*;
use crate::harness::block_on;

/// A state that refuses to serialise once it holds `poison`.
#[derive(Default, Deserialize)]
struct Fragile(String);

impl Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == "poison" {
            return Err(serde::ser::Error::custom("poisoned"));
        }
        s.serialize_str(&self.0)
    }
}

struct Echo;

impl Conversation for Echo {
    const NAME: &'static str = "echo";
    type State = Fragile;

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Echo)
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        _: &View<'_>,
        state: &mut Fragile,
        _: &Context<'_>,
    ) -> Reply {
        state.0 = message.body.clone();
        Reply::text("ok")
    }
}

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

#[test]
fn a_state_that_does_not_serialise_keeps_the_previous_one_and_says_so() {
    let none = |_: &str| None;
    let ctx = Context::new(Vars::new(&none), Rc::new(NoClient), 1);
    let chat = View {
        count: 1,
        first_seen: 1,
        last_seen: 1,
        turns: &[],
        standing: &Default::default(),
    };
    let mut saved = SavedState::default();
    let text = |body: &str| InboundMessage {
        body: body.into(),
        ..InboundMessage::default()
    };
    let good = text("kept");
    let ran = block_on(Echo.converse(&good, chat, &mut saved, &ctx));
    assert_eq!((ran.answer, ran.state_error), (Reply::text("ok"), None));
    let before = saved.clone();
    assert_eq!(before.json, r#""kept""#);

    let bad = text("poison");
    let ran = block_on(Echo.converse(&bad, chat, &mut saved, &ctx));
    assert_eq!(ran.answer, Reply::text("ok"), "the reply still goes out");
    let error = ran.state_error.expect("the failure is a value");
    assert!(error.to_string().contains("poisoned"), "{error}");
    assert_eq!(saved, before, "never an empty state in its place");
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
