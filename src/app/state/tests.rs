//! The state API against the test phone's KV and objects: read, end and correct a pair.

use std::rc::Rc;

use super::*;
use crate::app::{self, Body};
use crate::conversations::Survey;
use crate::harness::{block_on, TestPhone, TEST_ACCOUNT_SID};
use crate::object_calls::Objects;
use crate::vars::Vars;

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
const URL: &str =
    "https://sms.example.workers.dev/conversations/state?from=%2B14155550100&to=%2B15005550006";
const ASK_NAME: &str = "Hi! What's your name?";

fn vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ADMIN_API_KEY", ADMIN),
        ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
    ]
}

/// One call of the API, with the phone's KV or objects bound (and its writes run): the
/// status, the body, and the log line.
fn call(
    phone: &TestPhone,
    method: &str,
    url: &str,
    key: &str,
    body: &str,
) -> (u16, String, String) {
    let mut all = vec![
        ("TWILIO_AUTH_TOKEN", crate::harness::TEST_AUTH_TOKEN),
        ("SESSION_SECRET", crate::harness::TEST_SESSION_SECRET),
    ];
    all.extend(vars());
    let lookup = |name: &str| {
        all.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let vars = Vars::new(&lookup);
    let setup = Setup::with::<Survey>(&vars).unwrap();
    let auth = format!("Bearer {key}");
    let req = HttpRequest {
        method,
        url,
        authorization: Some(&auth),
        content_type: Some("application/json"),
        body: Body::Read(body.as_bytes()),
        ..Default::default()
    };
    let rt = Runtime {
        kv: phone.kv(),
        objects: phone.objects().map(|o| o as &dyn Objects),
        ..Runtime::new(
            phone.now(),
            vars,
            Rc::new(crate::harness::FakeHttp::default()),
        )
    };
    let handled = block_on(app::handle(Ok(&setup), &req, &rt));
    if let Some(kv) = phone.kv() {
        kv.apply(handled.writes);
    }
    let r = handled.response;
    (r.status, r.body, r.log.to_json(r.status, 0))
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn phones() -> [(&'static str, TestPhone); 2] {
    [
        ("KV", TestPhone::new::<Survey>(&vars()).unwrap().with_kv()),
        (
            "objects",
            TestPhone::new::<Survey>(&vars()).unwrap().with_objects(),
        ),
    ]
}

#[test]
fn a_pair_is_read_ended_and_corrected_and_the_next_text_sees_it() {
    for (bound, mut phone) in phones() {
        phone.text("hi");
        phone.text("Ada");
        let (status, body, log) = call(&phone, "GET", URL, ADMIN, "");
        assert_eq!(status, 200, "{bound}: {body}");
        let got = json(&body);
        assert_eq!(got["count"], 2, "{bound}");
        assert_eq!(
            got["state"],
            serde_json::json!({"Zip": {"name": "Ada"}}),
            "{bound}"
        );
        assert_eq!(got["turns"].as_array().unwrap().len(), 2, "{bound}");
        assert_eq!(got["opted_out"], false);
        assert_eq!(got["source"], if bound == "KV" { "kv" } else { "object" });
        assert!(
            log.contains(r#""outcome":"admin""#) && !log.contains("14155550100"),
            "{log}"
        );

        // Corrected: the name was Bea. The next text (its cookie still says Ada) goes on
        // from the corrected state.
        let put = r#"{"state": {"Zip": {"name": "Bea"}}}"#;
        let (status, body, _) = call(&phone, "PUT", URL, ADMIN, put);
        assert_eq!(status, 200, "{bound}: {body}");
        let next = phone.text("nope");
        assert_eq!(
            next.texts(),
            ["Sorry, a ZIP code is 5 digits. What's your 5-digit ZIP code?"],
            "{bound}"
        );
        assert_eq!(
            phone.state::<serde_json::Value>(),
            json(r#"{"Zip": {"name": "Bea"}}"#)
        );

        // Ended, as RESET does: the next text starts over, an earlier one replayed is still
        // recognised.
        let (status, body, _) = call(&phone, "DELETE", URL, ADMIN, "");
        assert_eq!(
            (status, json(&body)["count"].clone()),
            (200, 0.into()),
            "{bound}"
        );
        assert_eq!(
            phone.retry().outcome,
            "retry",
            "{bound}: the window is kept"
        );
        assert_eq!(phone.text("hello").texts(), [ASK_NAME], "{bound}");
    }
}

#[test]
fn a_state_that_is_not_the_conversations_is_refused_naming_the_error() {
    for (bound, mut phone) in phones() {
        phone.text("hi");
        let (status, body, _) = call(&phone, "PUT", URL, ADMIN, r#"{"state": {"Zap": 1}}"#);
        assert_eq!(status, 400, "{bound}: {body}");
        assert!(body.contains("survey") && body.contains("Zap"), "{body}");
        let (status, body, _) = call(&phone, "PUT", URL, ADMIN, r#"{"nostate": 1}"#);
        assert_eq!(status, 400, "{bound}: {body}");
        assert!(
            body.contains(r#"{\"state\": …}"#) || body.contains("state"),
            "{body}"
        );
        assert_eq!(
            phone.text("Ada").texts(),
            ["Thanks, Ada. What's your 5-digit ZIP code?"]
        );
    }
}

#[test]
fn every_refusal_is_clear() {
    let mut phone = TestPhone::new::<Survey>(&vars()).unwrap().with_kv();
    phone.text("hi");
    assert_eq!(
        call(
            &phone,
            "GET",
            URL,
            "wrong-key-0123456789abcdef0123456789",
            ""
        )
        .0,
        401
    );
    assert_eq!(call(&phone, "GET", URL, "", "").0, 401);
    assert_eq!(call(&phone, "POST", URL, ADMIN, "").0, 405);
    let no_pair = "https://sms.example.workers.dev/conversations/state?from=4155550100";
    let (status, body, _) = call(&phone, "GET", no_pair, ADMIN, "");
    assert_eq!(status, 400);
    assert!(body.contains("from"), "{body}");
    let other = URL.replace("0100", "0199");
    let (status, body, _) = call(&phone, "GET", &other, ADMIN, "");
    assert_eq!(status, 404, "{body}");
    // Neither KV nor the objects: the cookie is the only copy.
    let cookie_only = TestPhone::new::<Survey>(&vars()).unwrap();
    let (status, body, _) = call(&cookie_only, "GET", URL, ADMIN, "");
    assert_eq!(status, 409);
    assert!(
        body.contains("CONVERSATIONS") && body.contains("CONVERSATION_OBJECTS"),
        "{body}"
    );
}

#[test]
fn without_a_long_enough_admin_key_the_routes_do_not_exist() {
    let phone = TestPhone::new::<Survey>(&[]).unwrap().with_kv();
    let lookup = |name: &str| match name {
        "SESSION_SECRET" => Some(crate::harness::TEST_SESSION_SECRET.to_string()),
        "TWILIO_AUTH_TOKEN" => Some("t".to_string()),
        _ => None,
    };
    let setup = Setup::with::<Survey>(&Vars::new(&lookup)).unwrap();
    let req = HttpRequest {
        method: "GET",
        url: URL,
        authorization: Some("Bearer x"),
        ..Default::default()
    };
    let rt = Runtime {
        kv: phone.kv(),
        ..Runtime::new(
            phone.now(),
            Vars::new(&lookup),
            Rc::new(crate::harness::FakeHttp::default()),
        )
    };
    assert_eq!(
        block_on(app::handle(Ok(&setup), &req, &rt)).response.status,
        404
    );
    let short = |name: &str| {
        (name == "ADMIN_API_KEY")
            .then(|| "too-short".to_string())
            .or_else(|| lookup(name))
    };
    let err = Setup::with::<Survey>(&Vars::new(&short)).err().unwrap();
    assert!(err.to_string().contains("ADMIN_API_KEY"), "{err}");
}
