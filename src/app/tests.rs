use std::rc::Rc;

use super::*;
use crate::conversation::NoClient;
use crate::conversations::Counter;
use crate::harness::{block_on, TestPhone, TEST_AUTH_TOKEN, TEST_SESSION_SECRET, TEST_URL};
use crate::storage::NoStore;
use crate::twilio::params;
use crate::twilio::signature;
use crate::vars::Vars;

fn setup(extra: &[(&str, &str)]) -> Setup {
    let mut vars = vec![
        ("SESSION_SECRET", TEST_SESSION_SECRET),
        ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
    ];
    vars.extend_from_slice(extra);
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    Setup::from_vars(&Vars::new(&lookup), &crate::conversations::SHIPPED).unwrap()
}

fn run(setup: Result<&Setup, &ConfigError>, req: &HttpRequest<'_>) -> HttpResponse {
    let none = |_: &str| None;
    let rt: Runtime<'_, NoStore> = Runtime::new(1_700_000_000, Vars::new(&none), Rc::new(NoClient));
    block_on(handle(setup, req, &rt)).response
}

fn form(body: &str) -> String {
    serde_urlencoded::to_string([
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("MessageSid", "SM1"),
        ("From", "+14155550100"),
        ("To", "+15005550006"),
        ("Body", body),
    ])
    .unwrap()
}

fn sign(url: &str, body: &str) -> String {
    let params = params::parse_params(body.as_bytes()).unwrap();
    let data = signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    signature::expected_signature(TEST_AUTH_TOKEN, url, &data)
}

fn post<'a>(body: &'a str, sig: Option<&'a str>) -> HttpRequest<'a> {
    HttpRequest {
        method: "POST",
        url: TEST_URL,
        content_type: Some("application/x-www-form-urlencoded"),
        signature: sig,
        cookie: None,
        authorization: None,
        idempotency_key: None,
        body: Body::Read(body.as_bytes()),
    }
}

#[test]
fn forged_and_unsigned_requests_are_refused_before_any_state() {
    let s = setup(&[]);
    let body = form("hi");
    let resp = run(Ok(&s), &post(&body, None));
    assert_eq!((resp.status, resp.set_cookie.is_none()), (403, true));
    let wrong = sign("https://other.example/sms", &body);
    assert_eq!(run(Ok(&s), &post(&body, Some(&wrong))).status, 403);
    let good = sign(TEST_URL, &body);
    let resp = run(Ok(&s), &post(&body, Some(&good)));
    assert_eq!(resp.status, 200);
    assert!(resp.set_cookie.is_some());
}

#[test]
fn any_of_several_auth_tokens_verifies_a_webhook() {
    let s = setup(&[("TWILIO_AUTH_TOKEN", "secondary-token, test-auth-token")]);
    let body = form("hi");
    let good = sign(TEST_URL, &body);
    assert_eq!(run(Ok(&s), &post(&body, Some(&good))).status, 200);
    let other = signature::expected_signature("third", TEST_URL, "");
    assert_eq!(run(Ok(&s), &post(&body, Some(&other))).status, 403);
}

#[test]
fn get_webhooks_need_webhook_method_get_and_survive_apostrophe_escaping() {
    let signed_url = "https://sms.example.workers.dev/sms?From=%2B14155550100&To=%2B15005550006&Body=It's&MessageSid=SM1";
    let sig = signature::expected_signature(TEST_AUTH_TOKEN, signed_url, "");
    let received = signed_url.replace('\'', "%27");
    let req = HttpRequest {
        method: "GET",
        url: &received,
        signature: Some(&sig),
        ..Default::default()
    };
    let resp = run(Ok(&setup(&[])), &req);
    assert_eq!(resp.status, 405, "POST is the default");
    assert!(resp.body.contains("WEBHOOK_METHOD"));
    for method in ["GET", "any"] {
        let resp = run(Ok(&setup(&[("WEBHOOK_METHOD", method)])), &req);
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert!(resp.body.contains("Hello, thanks for the new message."));
    }
    let body = form("hi");
    let good = sign(TEST_URL, &body);
    let resp = run(
        Ok(&setup(&[("WEBHOOK_METHOD", "GET")])),
        &post(&body, Some(&good)),
    );
    assert_eq!(resp.status, 405);
}

#[test]
fn a_post_signature_never_passes_as_a_get() {
    // The attack: an SMS whose body makes the POST's signed string a valid GET URL.
    let url = "https://sms.example.workers.dev/sms?k=1";
    let body = "&From=%2B14155550199&To=%2B15005550006&Body=RESET&MessageSid=SMx&z=";
    let crafted = serde_urlencoded::to_string([
        ("AccountSid", "AC1"),
        ("Body", body),
        ("From", "+14155550100"),
        ("MessageSid", "SM9"),
        ("To", "+15005550006"),
    ])
    .unwrap();
    let sig = sign(url, &crafted);
    let params = params::parse_params(crafted.as_bytes()).unwrap();
    let signed = format!(
        "{url}{}",
        signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    );
    let req = HttpRequest {
        method: "GET",
        url: &signed,
        signature: Some(&sig),
        ..Default::default()
    };
    assert_eq!(run(Ok(&setup(&[])), &req).status, 405);
}

#[test]
fn each_kind_of_bad_request_gets_its_status() {
    let s = setup(&[]);
    let body = form("hi");
    let sig = sign(TEST_URL, &body);
    let with = |ct: Option<&'static str>, b: Body<'_>| {
        let req = HttpRequest {
            content_type: ct,
            body: b,
            ..post(&body, Some(&sig))
        };
        run(Ok(&s), &req)
    };
    let form_ct = Some("application/x-www-form-urlencoded; charset=utf-8");
    assert_eq!(
        with(Some("application/json"), Body::Read(body.as_bytes())).status,
        415
    );
    assert_eq!(with(None, Body::Read(body.as_bytes())).status, 415);
    assert_eq!(with(form_ct, Body::TooLarge).status, 413);
    assert_eq!(
        with(form_ct, Body::Read(&vec![b'a'; MAX_BODY_BYTES + 1])).status,
        413
    );
    let unreadable = with(form_ct, Body::Unreadable);
    assert_eq!(unreadable.status, 400);
    assert!(
        !unreadable.body.contains("missing From"),
        "{}",
        unreadable.body
    );
    let missing = "To=%2B1&Body=x";
    let sig2 = sign(TEST_URL, missing);
    let resp = run(Ok(&s), &post(missing, Some(&sig2)));
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("missing From"));
    assert_eq!(with(form_ct, Body::Read(b"From=\xff")).status, 400);
    assert_eq!(with(form_ct, Body::Read(body.as_bytes())).status, 200);

    let req = |method, url| HttpRequest {
        method,
        url,
        ..Default::default()
    };
    let resp = run(Ok(&s), &req("PUT", TEST_URL));
    assert_eq!((resp.status, resp.allow), (405, Some("GET, POST")));
    assert_eq!(run(Ok(&s), &req("GET", "https://x.dev/admin")).status, 404);
    let info = run(Ok(&s), &req("GET", "https://x.dev/"));
    assert_eq!(info.status, 200);
    assert!(info.body.contains("https://x.dev/sms"));
}

#[test]
fn misconfiguration_answers_500_naming_the_variable() {
    let err = ConfigError::new("SESSION_SECRET", "is not set");
    let body = form("hi");
    let req = post(&body, None);
    let resp = run(Err(&err), &req);
    assert_eq!(resp.status, 500);
    assert!(resp.body.starts_with("misconfigured: SESSION_SECRET"));

    let only_secret = |n: &str| (n == "SESSION_SECRET").then(|| TEST_SESSION_SECRET.to_string());
    let no_token =
        Setup::from_vars(&Vars::new(&only_secret), &crate::conversations::SHIPPED).unwrap();
    let resp = run(Ok(&no_token), &req);
    assert_eq!(resp.status, 500);
    assert!(resp.body.contains("TWILIO_AUTH_TOKEN"));

    let unsigned = |n: &str| match n {
        "SESSION_SECRET" => Some(TEST_SESSION_SECRET.into()),
        "ALLOW_UNSIGNED_WEBHOOKS" => Some("true".into()),
        _ => None,
    };
    let unsigned = Setup::from_vars(&Vars::new(&unsigned), &crate::conversations::SHIPPED).unwrap();
    assert_eq!(run(Ok(&unsigned), &req).status, 200);

    let bad = |n: &str| match n {
        "SESSION_SECRET" => Some(TEST_SESSION_SECRET.into()),
        "CONVERSATION" => Some("quiz".into()),
        _ => None,
    };
    let err = Setup::from_vars(&Vars::new(&bad), &crate::conversations::SHIPPED)
        .err()
        .unwrap();
    assert_eq!(err.variable, "CONVERSATION");
}

#[test]
fn logs_mask_numbers_and_never_carry_bodies() {
    let s = setup(&[]);
    let body = form("my secret message");
    let sig = sign(TEST_URL, &body);
    let resp = run(Ok(&s), &post(&body, Some(&sig)));
    let line = resp.log.to_json(resp.status, 3);
    assert_eq!(
        line,
        r#"{"event":"webhook","outcome":"reply","status":200,"source":"new","count":1,"from":"+14*******00","segments":[{"encoding":"gsm7","count":1,"units":34}],"ms":3}"#
    );
    assert!(!line.contains("secret"));
}

#[test]
fn request_urls_split_into_origin_path_and_query() {
    assert_eq!(
        split_request_url("https://a.dev/sms?x=1#f"),
        ("https://a.dev", "/sms", "x=1")
    );
    assert_eq!(
        split_request_url("https://a.dev"),
        ("https://a.dev", "/", "")
    );
    assert_eq!(
        split_request_url("https://a.dev?x"),
        ("https://a.dev", "/", "x")
    );
}

#[test]
fn a_retried_message_gets_the_same_answer_whatever_the_history_setting() {
    for turns in ["0", "10"] {
        let mut phone = TestPhone::new::<Counter>(&[("HISTORY_TURNS", turns)]).unwrap();
        phone.text("one");
        let second = phone.text("two");
        let retry = phone.retry();
        assert_eq!(retry.texts(), second.texts(), "HISTORY_TURNS={turns}");
        assert_eq!(retry.outcome, "retry");
        assert_eq!(
            phone.text("three").texts(),
            ["Hello, thanks for message number 3"]
        );
    }
}

#[test]
fn cookie_sizes() {
    let size = |vars: &[(&str, &str)]| {
        let mut phone = TestPhone::new::<Counter>(vars).unwrap();
        for i in 1..=10 {
            phone.text(&format!("message number {i} of this conversation"));
        }
        phone.cookie().unwrap().len() - "sms_state=".len()
    };
    let off = size(&[("HISTORY_TURNS", "0")]);
    let default = size(&[]);
    println!("sealed cookie value after 10 messages: {off} bytes with HISTORY_TURNS=0 (signed), {default} bytes by default (10 turns, encrypted)");
    assert!(off < 1024, "{off}");
    assert!(default < 4096 - 64, "{default}");
}

mod opt_out {
    use crate::conversations::{Counter, Survey};
    use crate::harness::TestPhone;

    #[test]
    fn stop_is_remembered_until_start_and_nothing_in_between_reaches_the_conversation() {
        let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
        phone.text("hi");
        let stop = phone.text("stop");
        assert_eq!((stop.outcome, stop.texts().len()), ("opt_out", 0));
        assert!(phone.record().opted_out());
        for text in ["hello?", "RESET", "help"] {
            let quiet = phone.text(text);
            assert!(
                quiet.texts().is_empty(),
                "{text} was answered: {:?}",
                quiet.texts()
            );
        }
        assert_eq!(phone.text("hello?").outcome, "opted_out");
        assert!(phone.record().opted_out(), "RESET keeps the opt-out");
        let start = phone.text("START");
        assert_eq!((start.outcome, start.texts().len()), ("opt_in", 0));
        assert!(!phone.record().opted_out());
        let after = phone.text("back");
        assert_eq!(after.outcome, "reply");
        assert_eq!(after.texts().len(), 1);
    }

    #[test]
    fn yes_opts_in_only_an_opted_out_person_and_start_never_reaches_the_conversation() {
        let mut phone = TestPhone::new::<Survey>(&[("OPT_IN_REPLY", "Welcome back.")]).unwrap();
        phone.text("hi");
        let before = phone.state::<serde_json::Value>();
        // START and UNSTOP are Twilio's keywords, never answers.
        for word in ["START", " unstop "] {
            let r = phone.text(word);
            assert_eq!((r.outcome, r.texts()), ("opt_in", vec!["Welcome back."]));
        }
        assert_eq!(phone.state::<serde_json::Value>(), before);
        // YES from someone who never opted out is an answer like any other.
        assert_eq!(phone.text("yes").outcome, "reply");
        phone.text("QUIT");
        let r = phone.text("Yes");
        assert_eq!((r.outcome, r.texts()), ("opt_in", vec!["Welcome back."]));
    }

    #[test]
    fn the_opt_out_rides_in_the_cookie_to_a_new_isolate_and_in_kv() {
        let mut phone = TestPhone::new::<Counter>(&[]).unwrap().with_kv();
        phone.text("hi");
        phone.text("UNSUBSCRIBE");
        phone.new_isolate();
        assert_eq!(phone.text("hi").outcome, "opted_out");
        phone.lose_cookie();
        phone.new_isolate();
        assert_eq!(phone.text("hi").outcome, "opted_out", "from KV");
    }

    #[test]
    fn help_is_answered_only_when_help_reply_is_set() {
        let mut plain = TestPhone::new::<Counter>(&[]).unwrap();
        assert_eq!(plain.text("HELP").outcome, "reply");
        let mut phone =
            TestPhone::new::<Counter>(&[("HELP_REPLY", "Text STOP to opt out.")]).unwrap();
        let help = phone.text("info");
        assert_eq!(
            (help.outcome, help.texts()),
            ("help", vec!["Text STOP to opt out."])
        );
        assert_eq!(
            phone.text("hi").texts(),
            ["Hello, thanks for message number 2"]
        );
    }
}

/// Answers with the parameters the message kept beyond its typed fields.
#[cfg(feature = "studio")]
struct OtherParams<const READS: bool>;

#[cfg(feature = "studio")]
impl<const READS: bool> crate::conversation::Conversation for OtherParams<READS> {
    const NAME: &'static str = "others";
    const READS_OTHER_PARAMS: bool = READS;
    type State = ();
    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(OtherParams)
    }
    async fn reply(
        &self,
        msg: &crate::conversation::InboundMessage,
        _: &crate::conversation::View<'_>,
        _: &mut (),
        _: &crate::conversation::Context<'_>,
    ) -> crate::conversation::Reply {
        let kept: Vec<String> = msg.other.iter().map(|(k, v)| format!("{k}={v}")).collect();
        crate::conversation::Reply::text(format!("kept [{}]", kept.join(" ")))
    }
}

#[cfg(feature = "studio")]
#[test]
fn only_a_conversation_that_reads_them_gets_the_parameters_it_does_not_name() {
    let body = format!("{}&FromCountry=US&SmsStatus=received", form("hi"));
    let sig = sign(TEST_URL, &body);
    let vars = [
        ("SESSION_SECRET", TEST_SESSION_SECRET),
        ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let reads = Setup::with::<OtherParams<true>>(&Vars::new(&lookup)).unwrap();
    let answer = run(Ok(&reads), &post(&body, Some(&sig)));
    assert!(
        answer
            .body
            .contains("kept [FromCountry=US SmsStatus=received]"),
        "{}",
        answer.body
    );
    let ignores = Setup::with::<OtherParams<false>>(&Vars::new(&lookup)).unwrap();
    let answer = run(Ok(&ignores), &post(&body, Some(&sig)));
    assert!(answer.body.contains("kept []"), "{}", answer.body);
}
