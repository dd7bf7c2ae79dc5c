//! Replies that outlast `REPLY_BUDGET_SECONDS`: with the objects and the Messages API the
//! webhook answers empty TwiML in time and the object sends the reply once; without them the
//! conversation's outside calls are cut at the budget, so it answers in time itself.

use std::time::Duration;

use crate::harness::TestPhone;
use crate::prelude::*;

/// Asks an outside service (a language model, a CRM) and says what it answered, counting
/// the questions in its state: the next message shows where the last one left it.
struct Ask;

impl Conversation for Ask {
    const NAME: &'static str = "ask";
    type State = u32;
    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Ask)
    }
    async fn reply(
        &self,
        m: &InboundMessage,
        _: &View<'_>,
        asked: &mut u32,
        ctx: &Context<'_>,
    ) -> Reply {
        *asked += 1;
        let request = ClientRequest::get(format!("https://llm.test/ask?q={}", m.body))
            .timeout(Duration::from_secs(30));
        match ctx.fetch(request).await {
            Ok(r) => Reply::text(format!("#{asked}: {}", String::from_utf8_lossy(&r.body))),
            Err(ClientError::Timeout) => {
                Reply::text(format!("#{asked}: the service is slow, try again"))
            }
            Err(_) => Reply::text(format!("#{asked}: the service failed")),
        }
    }
}

/// A phone texting [`Ask`] whose service answers `q` after `seconds`.
fn slow(seconds: u64, q: &str) -> TestPhone {
    let phone = TestPhone::new::<Ask>(&[]).unwrap();
    let url = format!("https://llm.test/ask?q={q}");
    phone
        .http()
        .respond_after(&url, Duration::from_secs(seconds), 200, "forty-two");
    phone
}

/// A message answered in time, then one whose reply goes late: the late answer's log line
/// still says which message of the conversation it was.
fn late_answer_is_counted(mut phone: TestPhone) {
    phone.text("first, in time");
    let answer = phone.text("meaning");
    assert_eq!(answer.outcome, "late");
    assert!(
        answer.log_line.contains(r#""count":2"#),
        "{}",
        answer.log_line
    );
}

/// The texts the person got through the Messages API, in order.
fn sent_texts(phone: &TestPhone) -> Vec<String> {
    phone.sent().iter().map(|m| m.text().to_string()).collect()
}

/// Calls made to the service, Create Message calls aside.
fn asked(phone: &TestPhone) -> usize {
    let requests = phone.http().requests();
    requests
        .iter()
        .filter(|r| r.url.starts_with("https://llm.test/"))
        .count()
}

#[cfg(feature = "objects")]
mod objects {
    use super::*;

    fn late_phone(seconds: u64) -> TestPhone {
        slow(seconds, "meaning").with_objects().with_outbound()
    }

    #[test]
    fn a_reply_inside_the_budget_is_in_the_twiml() {
        let mut phone = late_phone(9);
        let answer = phone.text("meaning");
        assert_eq!(answer.texts(), ["#1: forty-two"]);
        assert_eq!(answer.outcome, "reply");
        assert!(phone.sent().is_empty());
    }

    #[test]
    fn a_reply_past_the_budget_goes_through_the_messages_api_once() {
        for seconds in [12, 25] {
            let mut phone = late_phone(seconds);
            let answer = phone.text("meaning");
            assert_eq!(
                (answer.status, answer.outcome),
                (200, "late"),
                "{seconds} s"
            );
            assert!(answer.texts().is_empty(), "{seconds} s: {}", answer.body);
            assert!(answer.log_line.contains(r#""outcome":"late""#));
            assert_eq!(sent_texts(&phone), ["#1: forty-two"], "{seconds} s");
            assert_eq!(asked(&phone), 1);
            let logged = phone.objects().unwrap().late_sends();
            assert!(logged[0].contains(r#""event":"late_reply""#), "{logged:?}");
            assert!(
                logged[0].contains(r#""segments":[{"encoding":"gsm7","count":1"#),
                "{logged:?}"
            );
        }
    }

    #[test]
    fn the_late_answers_log_line_counts_the_message() {
        late_answer_is_counted(late_phone(12));
    }

    #[test]
    fn a_retry_of_a_late_reply_changes_nothing() {
        let mut phone = late_phone(12);
        phone.text("meaning");
        let again = phone.retry();
        assert!(again.texts().is_empty(), "{}", again.body);
        assert_eq!(again.outcome, "retry");
        // Another isolate, with the first attempt's cookie: the same.
        let elsewhere = phone.retry_elsewhere();
        assert!(elsewhere.texts().is_empty(), "{}", elsewhere.body);
        phone.wait(120); // any alarm that falls due
        assert_eq!(phone.sent().len(), 1);
        assert_eq!(asked(&phone), 1);
    }

    #[test]
    fn the_next_text_continues_from_the_late_state() {
        let mut phone = late_phone(25);
        phone.text("meaning");
        phone
            .http()
            .respond("https://llm.test/ask?q=more", 200, "more");
        assert_eq!(phone.text("more").texts(), ["#2: more"]);
    }

    #[test]
    fn without_the_messages_api_the_object_cuts_the_call_at_the_budget() {
        // No auth token nor API key: nothing to send a late reply with.
        let unsigned = [
            ("TWILIO_AUTH_TOKEN", ""),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ];
        let phone = TestPhone::new::<Ask>(&unsigned).unwrap();
        let url = "https://llm.test/ask?q=meaning";
        phone
            .http()
            .respond_after(url, Duration::from_secs(25), 200, "forty-two");
        let mut phone = phone.with_objects();
        let answer = phone.text("meaning");
        assert_eq!(answer.texts(), ["#1: the service is slow, try again"]);
        assert_eq!(answer.outcome, "reply");
    }

    #[test]
    fn a_studio_http_widget_past_the_budget_goes_late() {
        let flow = r#"{"description": "t", "initial_state": "Trigger", "states": [
            {"name": "Trigger", "type": "trigger", "properties": {}, "transitions": [
                {"event": "incomingMessage", "next": "crm"}, {"event": "incomingRequest"}]},
            {"name": "crm", "type": "make-http-request", "properties": {
                "method": "GET", "url": "https://crm.test/lookup", "content_type": "application/json"},
             "transitions": [{"event": "success", "next": "say"}, {"event": "failed", "next": "sorry"}]},
            {"name": "say", "type": "send-message", "properties": {"body": "found {{widgets.crm.parsed.name}}"},
             "transitions": [{"event": "sent"}, {"event": "failed"}]},
            {"name": "sorry", "type": "send-message", "properties": {"body": "sorry"},
             "transitions": [{"event": "sent"}, {"event": "failed"}]}]}"#;
        let vars = [("STUDIO_FLOW", "t"), ("flows/t.json", flow)];
        let Ok(phone) = TestPhone::of(&crate::conversations::SHIPPED, "studio", &vars) else {
            return; // built without the studio feature
        };
        let mut phone = phone.with_objects().with_outbound();
        let delay = Duration::from_millis(9_900);
        phone
            .http()
            .respond_after("https://crm.test/lookup", delay, 200, r#"{"name": "Ada"}"#);
        // 9.9 s of the 10 s budget, then the flow's own work: in the TwiML.
        assert_eq!(phone.text("hi").texts(), ["found Ada"]);
        phone.http().respond_after(
            "https://crm.test/lookup",
            Duration::from_secs(12),
            200,
            "{}",
        );
        // Studio's own 10 s limit ends the call at the budget: the flow's failure branch.
        assert_eq!(phone.text("again").texts(), ["sorry"]);
    }
}

#[test]
fn cookie_only_cuts_the_call_at_the_budget() {
    let mut phone = slow(12, "meaning");
    let answer = phone.text("meaning");
    assert_eq!(answer.texts(), ["#1: the service is slow, try again"]);
    assert_eq!(asked(&phone), 1);
    // The request was held to the budget's 10 s, not its own 30 s.
    assert_eq!(phone.http().requests()[0].timeout, Duration::from_secs(10));
}

#[test]
fn reply_budget_seconds_is_refused_above_14() {
    let refused = TestPhone::new::<Ask>(&[("REPLY_BUDGET_SECONDS", "15")])
        .err()
        .unwrap();
    assert!(
        refused.to_string().contains("REPLY_BUDGET_SECONDS"),
        "{refused}"
    );
    let mut short = TestPhone::new::<Ask>(&[("REPLY_BUDGET_SECONDS", "3")]).unwrap();
    short
        .http()
        .respond_after("https://llm.test/ask?q=x", Duration::from_secs(4), 200, "x");
    assert_eq!(
        short.text("x").texts(),
        ["#1: the service is slow, try again"]
    );
}

/// KV alone (no objects), with the Messages API's credentials: a reply past the budget is
/// answered with empty TwiML and a pointer cookie, and sent from `waitUntil` once the turn's
/// record is in KV.
mod kv_alone {
    use super::*;

    fn late_phone(seconds: u64) -> TestPhone {
        slow(seconds, "meaning").with_kv().with_outbound()
    }

    #[test]
    fn a_reply_inside_the_budget_is_in_the_twiml() {
        let mut phone = late_phone(9);
        let answer = phone.text("meaning");
        assert_eq!(answer.texts(), ["#1: forty-two"]);
        assert_eq!(answer.outcome, "reply");
        assert!(answer.late_reply.is_none());
        assert!(phone.sent().is_empty());
    }

    #[test]
    fn a_reply_past_the_budget_goes_through_the_messages_api_once() {
        for seconds in [12, 25] {
            let mut phone = late_phone(seconds);
            let answer = phone.text("meaning");
            assert_eq!(
                (answer.status, answer.outcome),
                (200, "late"),
                "{seconds} s"
            );
            assert!(answer.texts().is_empty(), "{seconds} s: {}", answer.body);
            assert!(answer.set_cookie.is_some(), "the cookie points at KV");
            assert_eq!(sent_texts(&phone), ["#1: forty-two"], "{seconds} s");
            assert_eq!(asked(&phone), 1);
            // The call kept its own 30 s: the reply could go late.
            assert_eq!(phone.http().requests()[0].timeout, Duration::from_secs(30));
            let line = answer.late_reply.unwrap();
            assert!(
                line.starts_with(r#"{"event":"late_reply","result":"sent SMf"#),
                "{line}"
            );
            assert!(
                line.contains(r#""segments":[{"encoding":"gsm7","count":1"#),
                "{line}"
            );
            assert!(!line.contains("forty-two"), "no body in the log: {line}");
            assert!(
                answer.log_line.contains(r#""segments":[{"#),
                "{}",
                answer.log_line
            );
        }
    }

    /// Asks the slow service, then answers in two messages.
    struct TwoParts;

    impl Conversation for TwoParts {
        const NAME: &'static str = "two-parts";
        type State = ();
        fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
            Ok(TwoParts)
        }
        async fn reply(
            &self,
            _: &InboundMessage,
            _: &View<'_>,
            _: &mut (),
            ctx: &Context<'_>,
        ) -> Reply {
            let request =
                ClientRequest::get("https://llm.test/ask?q=parts").timeout(Duration::from_secs(30));
            let _ = ctx.fetch(request).await;
            Reply::text("first part").then("second part")
        }
    }

    #[test]
    fn each_message_of_a_late_reply_goes_once_in_order() {
        let phone = TestPhone::new::<TwoParts>(&[])
            .unwrap()
            .with_kv()
            .with_outbound();
        let url = "https://llm.test/ask?q=parts";
        phone
            .http()
            .respond_after(url, Duration::from_secs(12), 200, "");
        let mut phone = phone;
        let answer = phone.text("go");
        assert_eq!(answer.outcome, "late");
        assert_eq!(sent_texts(&phone), ["first part", "second part"]);
        let line = answer.late_reply.unwrap();
        assert_eq!(line.matches(r#""encoding":"gsm7""#).count(), 2, "{line}");
    }

    #[test]
    fn the_late_answers_log_line_counts_the_message() {
        late_answer_is_counted(late_phone(12));
    }

    #[test]
    fn a_retry_of_a_late_reply_changes_nothing() {
        let mut phone = late_phone(12);
        phone.text("meaning");
        let again = phone.retry();
        assert!(again.texts().is_empty(), "{}", again.body);
        assert_eq!(again.outcome, "retry");
        assert!(again.late_reply.is_none());
        assert_eq!(phone.sent().len(), 1);
        assert_eq!(asked(&phone), 1);
    }

    #[test]
    fn the_next_text_continues_from_the_late_state_in_kv() {
        let mut phone = late_phone(25);
        phone.text("meaning");
        phone
            .http()
            .respond("https://llm.test/ask?q=more", 200, "more");
        // Another isolate: only KV, through the early answer's pointer, knows the late turn.
        phone.new_isolate();
        let next = phone.text("more");
        assert_eq!(next.texts(), ["#2: more"]);
        assert_eq!(next.source, Some(crate::storage::Source::Kv));
        assert_eq!(phone.count(), 2);
    }

    #[test]
    fn a_text_before_kv_holds_the_late_state_goes_on_from_the_newest_copy_and_says_so() {
        let mut phone = late_phone(25);
        phone.text("meaning");
        phone
            .http()
            .respond("https://llm.test/ask?q=more", 200, "more");
        phone.new_isolate();
        phone.kv().unwrap().set_failing(true);
        let next = phone.text("more");
        // The pointer's summary: the record before the late turn.
        assert_eq!(next.texts(), ["#1: more"]);
        assert!(
            next.log_line.contains(r#""kv_behind":"#),
            "{}",
            next.log_line
        );
    }

    #[test]
    fn a_late_send_that_fails_is_logged_and_never_tried_again() {
        let mut phone = late_phone(12);
        let url = format!(
            "https://api.twilio.com/2010-04-01/Accounts/{}/Messages.json",
            crate::harness::TEST_ACCOUNT_SID
        );
        phone
            .http()
            .on("POST", &url)
            .respond(500, r#"{"code": 20500, "message": "oops"}"#);
        let answer = phone.text("meaning");
        assert_eq!(answer.outcome, "late");
        let line = answer.late_reply.unwrap();
        assert!(
            line.starts_with(r#"{"event":"late_reply","error":"message 1 of 1"#),
            "{line}"
        );
        phone.retry();
        assert_eq!(
            phone.sent().len(),
            1,
            "one Create Message call, never another"
        );
    }

    #[test]
    fn without_credentials_kv_cuts_the_call_at_the_budget() {
        let unsigned = [
            ("TWILIO_AUTH_TOKEN", ""),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ];
        let phone = TestPhone::new::<Ask>(&unsigned).unwrap().with_kv();
        let url = "https://llm.test/ask?q=meaning";
        phone
            .http()
            .respond_after(url, Duration::from_secs(25), 200, "forty-two");
        let mut phone = phone;
        let answer = phone.text("meaning");
        assert_eq!(answer.texts(), ["#1: the service is slow, try again"]);
        assert_eq!(answer.outcome, "reply");
    }
}
