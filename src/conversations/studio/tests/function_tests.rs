//! The Run Function widget through the whole webhook path (the test phone): where its call
//! goes (`STUDIO_FUNCTIONS`, then the widget's `url`), the signed form it sends, and the
//! transitions and outputs of its answer.

use super::*;
use crate::conversation::ClientError;
use crate::harness::{TestPhone, TEST_AUTH_TOKEN};
use crate::twilio::signature::{is_valid, params_string};

/// A flow whose trigger runs the run-function widget `fn` (with `properties`): `success`
/// says what `parsed` and `status_code` were, `fail` what the answer was.
fn function_flow(properties: &str) -> String {
    format!(
        r#"{{"description": "f", "initial_state": "Trigger", "states": [
        {{"name": "Trigger", "type": "trigger", "properties": {{}}, "transitions": [
            {{"event": "incomingMessage", "next": "fn"}}]}},
        {{"name": "fn", "type": "run-function", "properties": {properties},
          "transitions": [{{"event": "success", "next": "ok"}}, {{"event": "fail", "next": "sorry"}}]}},
        {{"name": "ok", "type": "send-message", "transitions": [],
          "properties": {{"body": "Your sign is {{{{widgets.fn.parsed.sign}}}} ({{{{widgets.fn.status_code}}}})"}}}},
        {{"name": "sorry", "type": "send-message", "transitions": [],
          "properties": {{"body": "No sign ({{{{widgets.fn.status_code | default: \"no answer\"}}}}) {{{{widgets.fn.body}}}}"}}}}
        ]}}"#
    )
}

/// An exported widget picked from the dropdown: its `function_sid`, and `url` as given.
fn exported(url: &str) -> String {
    function_flow(&format!(
        r#"{{"service_sid": "ZS1", "environment_sid": "ZE1", "function_sid": "ZH1", "url": "{url}",
            "parameters": [{{"key": "Body", "value": "{{{{trigger.message.Body | strip}}}}"}},
                           {{"key": "From", "value": "{{{{contact.channel.address}}}}"}}]}}"#
    ))
}

fn phone_with(flow: &str, extra: &[(&str, &str)]) -> Result<TestPhone, ConfigError> {
    let mut vars = vec![("STUDIO_FLOW", "f"), ("flows/f.json", flow)];
    vars.extend_from_slice(extra);
    TestPhone::new::<Studio>(&vars)
}

fn refusal(flow: &str, extra: &[(&str, &str)]) -> ConfigError {
    phone_with(flow, extra)
        .err()
        .expect("the flow was accepted")
}

/// The form fields of a request's body.
fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn the_call_is_a_form_signed_like_a_webhook_and_its_json_is_read_later() {
    let url = "https://signs-1234.twil.io/get-sign";
    let mut phone = phone_with(&exported(url), &[]).unwrap();
    phone.http().respond(url, 200, r#"{"sign": "Libra"}"#);
    let answer = phone.text("  born in October ");
    assert_eq!(answer.texts(), ["Your sign is Libra (200)"]);
    let request = &phone.http().requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", url)
    );
    let fields = form(&request.body);
    let person = phone.from_number().to_string();
    assert_eq!(
        fields,
        [
            ("Body".into(), "born in October".into()),
            ("From".into(), person)
        ]
    );
    assert!(request
        .header_value("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")));
    assert_eq!(request.timeout, std::time::Duration::from_secs(10));
    // A protected Function checks the signature as a webhook's, under the account's token.
    let params = params_string(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signature = request.header_value("x-twilio-signature").unwrap();
    assert!(is_valid(TEST_AUTH_TOKEN, [url], &params, signature));
    assert!(!is_valid("another-token", [url], &params, signature));
}

#[test]
fn the_signature_is_the_sdks_for_their_test_vector() {
    // twilio-node's spec/validation.spec.js: token 12345, this URL and these parameters.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let parameters = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ];
    let items: Vec<String> = (parameters.iter())
        .map(|(k, v)| format!(r#"{{"key": "{k}", "value": "{v}"}}"#))
        .collect();
    let properties = format!(r#"{{"url": "{url}", "parameters": [{}]}}"#, items.join(","));
    let mut phone = phone_with(
        &function_flow(&properties),
        &[("TWILIO_AUTH_TOKEN", "12345")],
    )
    .unwrap();
    phone.http().respond(url, 200, "{}");
    phone.text("hi");
    let request = &phone.http().requests()[0];
    assert_eq!(
        request.header_value("x-twilio-signature"),
        Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    );
}

#[test]
fn studio_functions_wins_over_the_url_by_sid_then_by_name() {
    let exported = exported("https://signs-1234.twil.io/get-sign");
    let by_sid = r#"{"ZH1": "https://mine.test/sign", "fn": "https://by-name.test/sign"}"#;
    let mut phone = phone_with(&exported, &[("STUDIO_FUNCTIONS", by_sid)]).unwrap();
    phone
        .http()
        .respond("https://mine.test/sign", 200, r#"{"sign": "Leo"}"#);
    assert_eq!(phone.text("hi").texts(), ["Your sign is Leo (200)"]);

    let by_name = r#"{"ZH9": "https://other.test/", "fn": "https://by-name.test/sign"}"#;
    let mut phone = phone_with(&exported, &[("STUDIO_FUNCTIONS", by_name)]).unwrap();
    phone
        .http()
        .respond("https://by-name.test/sign", 200, r#"{"sign": "Leo"}"#);
    assert_eq!(phone.text("hi").texts(), ["Your sign is Leo (200)"]);

    // A Function file of the project is called as `function:<path>`, for the adapter to run.
    let local = r#"{"ZH1": "./functions/get-sign.js"}"#;
    let mut phone = phone_with(&exported, &[("STUDIO_FUNCTIONS", local)]).unwrap();
    let file = "function:functions/get-sign.js";
    phone.http().respond(file, 200, r#"{"sign": "Virgo"}"#);
    assert_eq!(phone.text("hi").texts(), ["Your sign is Virgo (200)"]);
    assert_eq!(phone.http().requests()[0].url, file);
}

#[test]
fn an_error_or_no_answer_takes_fail_with_the_outputs() {
    let url = "https://signs-1234.twil.io/get-sign";
    let mut phone = phone_with(&exported(url), &[]).unwrap();
    phone.http().respond_once(url, 500, "Error: boom");
    assert_eq!(phone.text("hi").texts(), ["No sign (500) Error: boom"]);
    phone.http().respond_once(url, 404, "");
    assert_eq!(phone.text("hi").texts(), ["No sign (404) "]);
    phone.http().fail(url, ClientError::Timeout);
    assert_eq!(phone.text("hi").texts(), ["No sign (no answer) "]);
}

#[test]
fn each_step_has_its_own_idempotency_key_and_a_retry_the_same() {
    let url = "https://signs-1234.twil.io/get-sign";
    let mut phone = phone_with(&exported(url), &[]).unwrap();
    phone.http().respond(url, 200, r#"{"sign": "Libra"}"#);
    phone.text("one");
    phone.text("two");
    // Twilio's retry of "two" reaching another isolate, with the cookie "two" carried: the
    // step runs again, and says it is the same call.
    phone.retry_elsewhere();
    let keys: Vec<String> = (phone.http().requests().iter())
        .map(|r| r.header_value("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2]);
    assert_eq!(keys[0].len(), 64);
}

#[test]
fn without_an_auth_token_the_call_goes_unsigned() {
    let url = "https://signs-1234.twil.io/get-sign";
    let unsigned = [
        ("TWILIO_AUTH_TOKEN", ""),
        ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
    ];
    let mut phone = phone_with(&exported(url), &unsigned).unwrap();
    phone.http().respond(url, 200, r#"{"sign": "Libra"}"#);
    assert_eq!(phone.text("hi").texts(), ["Your sign is Libra (200)"]);
    let request = &phone.http().requests()[0];
    assert_eq!(request.header_value("x-twilio-signature"), None);
}

#[test]
fn a_function_with_nowhere_to_call_is_refused_saying_what_to_set() {
    let why = refusal(&exported(""), &[]).to_string();
    assert!(why.starts_with("STUDIO_FLOW"), "{why}");
    assert!(
        why.contains(r#"widget "fn": run-function with no URL: map its function_sid ZH1 in STUDIO_FUNCTIONS to a URL or to functions/<name>.js"#),
        "{why}"
    );
    // Mapped elsewhere, it is still refused; mapped by name, it runs.
    assert!(
        refusal(&exported(""), &[("STUDIO_FUNCTIONS", r#"{"ZH2": "f.js"}"#)])
            .to_string()
            .contains("run-function with no URL")
    );
    assert!(phone_with(&exported(""), &[("STUDIO_FUNCTIONS", r#"{"fn": "f.js"}"#)]).is_ok());
    // Without a function_sid, the message names the widget.
    let no_sid = refusal(&function_flow(r#"{"parameters": []}"#), &[]).to_string();
    assert!(
        no_sid.contains(r#"map its name fn in STUDIO_FUNCTIONS"#),
        "{no_sid}"
    );
}

#[test]
fn a_bad_studio_functions_is_a_config_error_naming_it() {
    let flow = exported("https://signs-1234.twil.io/get-sign");
    for bad in [
        "[1]",
        r#"{"ZH1": 3}"#,
        "not json",
        r#"{"ZH1": "secret-place"}"#,
    ] {
        let error = refusal(&flow, &[("STUDIO_FUNCTIONS", bad)]);
        assert_eq!(error.variable, "STUDIO_FUNCTIONS", "{bad}");
        assert!(!error.to_string().contains("secret-place"), "{error}");
    }
    let why = refusal(&flow, &[("STUDIO_FUNCTIONS", r#"{"ZH1": "ftp://x/a"}"#)]).to_string();
    assert!(
        why.contains(r#""ZH1" maps to neither an http(s) URL nor a functions/<name>.js file"#),
        "{why}"
    );
    let url = refusal(&exported("not a url"), &[]).to_string();
    assert!(
        url.contains(r#"url "not a url" is not an http(s) URL"#),
        "{url}"
    );
}
