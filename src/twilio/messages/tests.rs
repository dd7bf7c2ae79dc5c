use super::*;
use crate::harness::{block_on, FakeHttp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const URL: &str = "https://api.test/2010-04-01/Accounts/AC1/Messages.json";

fn creds() -> Credentials {
    Credentials {
        user: "AC1".into(),
        password: "tok".into(),
    }
}

fn hello() -> Form {
    form("+1555", "+1444", &ReplyMessage::text("hello"), None, None)
}

fn send_to(http: &FakeHttp) -> Result<String, SendError> {
    block_on(send(http, "https://api.test/", "AC1", &creds(), &hello()))
}

#[test]
fn a_sent_message_returns_its_sid_with_basic_auth() {
    let http = FakeHttp::default();
    http.respond(URL, 201, r#"{"sid": "SMabc", "status": "queued"}"#);
    assert_eq!(send_to(&http), Ok("SMabc".into()));
    let req = &http.requests()[0];
    assert_eq!(req.method, "POST");
    let auth = format!("Basic {}", STANDARD.encode("AC1:tok"));
    assert!(req.headers.contains(&("authorization".into(), auth)));
}

#[test]
fn only_a_429_or_a_request_never_written_is_certainly_not_sent() {
    let http = FakeHttp::default();
    http.respond(
        URL,
        400,
        r#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#,
    );
    let err = send_to(&http).unwrap_err();
    assert_eq!(err.code(), Some(OPTED_OUT));
    assert_eq!(err.fate(), SendFate::Refused);
    assert!(err.to_string().contains("21610"));
    http.respond(
        URL,
        429,
        r#"{"code": 20429, "message": "Too Many Requests"}"#,
    );
    assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::NotSentRetry);
    http.fail(URL, ClientError::NotSent("connection refused".into()));
    assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::NotSentRetry);
    // Twilio may have taken each of these.
    for status in [500, 502, 503] {
        http.respond(URL, status, "busy");
        assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::Unknown);
    }
    http.respond(URL, 201, "not json");
    assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::Unknown);
    http.fail(URL, ClientError::Timeout);
    assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::Unknown);
    http.fail(URL, ClientError::Failed("Network connection lost.".into()));
    assert_eq!(send_to(&http).unwrap_err().fate(), SendFate::Unknown);
}

#[test]
fn a_refusal_never_logs_a_full_number() {
    let http = FakeHttp::default();
    http.respond(URL, 400, r#"{"code": 21211, "message": "The 'To' number +15551234567 is not a valid phone number."}"#);
    let text = send_to(&http).unwrap_err().to_string();
    assert!(!text.contains("15551234567"), "{text}");
    assert!(text.contains("21211"), "{text}");
}

#[test]
fn a_template_replaces_the_body_and_the_status_callback_rides_along() {
    let t = Template {
        content_sid: "HX123".into(),
        content_variables: r#"{"1":"Ada"}"#.into(),
    };
    let f = form(
        "whatsapp:+1555",
        "whatsapp:+1444",
        &ReplyMessage::text("hi"),
        Some(&t),
        Some("https://w/s"),
    );
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "To",
            "From",
            "ContentSid",
            "ContentVariables",
            "StatusCallback"
        ]
    );
}

#[test]
fn the_list_finds_the_message_twilio_took_and_skips_known_ones() {
    let http = FakeHttp::default();
    let list = format!("{URL}?To=%2B1555&From=%2B1444&DateSent%3E=2023-11-13&PageSize=100");
    http.respond(
        &list,
        200,
        r#"{"messages": [
        {"sid": "SMold", "to": "+1555", "from": "+1444", "body": "hello"},
        {"sid": "SMother", "to": "+1555", "from": "+1444", "body": "bye"},
        {"sid": "SMnew", "to": "+1555", "from": "+1444", "body": "hello"}
    ]}"#,
    );
    let find = |known: &[&str]| {
        block_on(find_sent(
            &http,
            "https://api.test",
            "AC1",
            &creds(),
            &hello(),
            1_700_000_000,
            known,
        ))
    };
    assert_eq!(find(&["SMold"]), Ok(Some("SMnew".into())));
    assert_eq!(find(&["SMold", "SMnew"]), Ok(None));
    assert_eq!(civil_date(0), "1970-01-01");
    assert_eq!(civil_date(951_782_400), "2000-02-29");
    assert_eq!(civil_date(1_700_000_000), "2023-11-14");
}
