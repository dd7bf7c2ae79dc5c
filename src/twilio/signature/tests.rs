//! The vectors come from the official SDKs' own suites: twilio-node
//! `spec/validation.spec.js`, twilio-python `tests/unit/test_request_validator.py`,
//! twilio-ruby `spec/security/request_validator_spec.rb` (the same token, URL and
//! parameters in all three), and the example in Twilio's "Webhooks security" docs.
use super::*;

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn sdk_params() -> String {
    params_string([
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

fn valid(url: &str, params: &str, signature: &str) -> bool {
    is_valid(
        TOKEN,
        candidate_urls(url, None).iter().map(String::as_str),
        params,
        signature,
    )
}

#[test]
fn sdk_vector_for_the_url_as_is() {
    assert_eq!(
        expected_signature(TOKEN, URL, &sdk_params()),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert!(valid(URL, &sdk_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

#[test]
fn sdk_vectors_with_ports() {
    let params = sdk_params();
    let cases = [
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ];
    for (url, sig) in cases {
        assert_eq!(expected_signature(TOKEN, url, &params), sig, "{url}");
        assert!(valid(url, &params, sig), "{url}");
    }
    // Twilio signed with :443, the runtime shows the URL without it, and vice versa.
    assert!(valid(URL, &params, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    assert!(valid(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    // A signature made with a non-default port is valid without it (the SDKs' rule).
    assert!(valid(
        "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
        &params,
        &expected_signature(TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", &params)
    ));
}

#[test]
fn sdk_vector_with_a_repeated_parameter() {
    let params = params_string([
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    assert_eq!(params, "Digits1234Digits5678SidCA123SidAccountAC123");
    assert_eq!(
        expected_signature(TOKEN, URL, &params),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
}

#[test]
fn docs_example() {
    let params = params_string([
        ("Digits", "1234"),
        ("To", "+18005551212"),
        ("From", "+14158675310"),
        ("Caller", "+14158675310"),
        ("CallSid", "CA1234567890ABCDE"),
    ]);
    assert!(valid(
        "https://example.com/myapp.php?foo=1&bar=2",
        &params,
        "L/OH5YylLD5NRKLltdqwSvS0BnU="
    ));
}

#[test]
fn names_sort_by_byte_so_case_matters() {
    assert_eq!(
        params_string([("b", "1"), ("B", "2"), ("a", "3")]),
        "B2a3b1"
    );
}

#[test]
fn names_sharing_their_first_bytes_sort_as_plain_byte_order_does() {
    // Names tied on, or shorter than, the 8 bytes compared first; a NUL; non-ASCII.
    let names = [
        "MediaUrl10",
        "MediaUrl1",
        "MediaUrl",
        "MediaUr",
        "Media\0",
        "Media",
        "Médi",
        "Z",
        "ToCountry",
        "ToCity",
        "To",
        "",
        "SmsMessageSid",
        "SmsSid",
        "AccountSid",
        "MediaUrl1",
    ];
    let params: Vec<(&str, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, ["b", "a"][i % 2]))
        .collect();
    let mut reference = params.clone();
    reference.sort_unstable();
    reference.dedup();
    let expected: String = reference.iter().flat_map(|(k, v)| [*k, *v]).collect();
    assert_eq!(params_string(params.iter().copied()), expected);
    assert_eq!(params_string(params.iter().rev().copied()), expected);
}

#[test]
fn an_apostrophe_escaped_by_the_runtime_still_verifies() {
    let signed = "https://example.com/sms?Body=It's&From=%2B1";
    let sig = expected_signature(TOKEN, signed, "");
    assert!(valid(
        "https://example.com/sms?Body=It%27s&From=%2B1",
        "",
        &sig
    ));
    // But a URL Twilio signed with %27 is found as is, too.
    let sig = expected_signature(TOKEN, "https://example.com/sms?Body=It%27s", "");
    assert!(valid("https://example.com/sms?Body=It%27s", "", &sig));
}

#[test]
fn the_base_url_replaces_the_received_origin() {
    let params = sdk_params();
    let sig = expected_signature(TOKEN, "https://abc.ngrok.app/sms?x=1", &params);
    let urls = candidate_urls(
        "http://127.0.0.1:8787/sms?x=1",
        Some("https://abc.ngrok.app"),
    );
    assert!(is_valid(
        TOKEN,
        urls.iter().map(String::as_str),
        &params,
        &sig
    ));
    // Without the base URL the same request does not verify.
    assert!(!valid("http://127.0.0.1:8787/sms?x=1", &params, &sig));
    // A base URL with a path prefix (a proxy that mounts the worker under /hooks).
    let sig = expected_signature(TOKEN, "https://proxy.example/hooks/sms?x=1", &params);
    let urls = candidate_urls(
        "http://127.0.0.1:8787/sms?x=1",
        Some("https://proxy.example/hooks"),
    );
    assert!(is_valid(
        TOKEN,
        urls.iter().map(String::as_str),
        &params,
        &sig
    ));
}

#[test]
fn fragments_and_credentials_are_not_signed() {
    let sig = expected_signature(TOKEN, URL, "");
    assert!(valid(
        "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2#rc=2",
        "",
        &sig
    ));
}

#[test]
fn ipv6_hosts_keep_their_brackets() {
    let urls = candidate_urls("http://[::1]:8787/sms", None);
    assert_eq!(urls, ["http://[::1]:8787/sms", "http://[::1]/sms"]);
    let urls = candidate_urls("http://[::1]/sms", None);
    assert_eq!(urls, ["http://[::1]/sms", "http://[::1]:80/sms"]);
}

#[test]
fn bad_signatures_of_every_shape_are_rejected() {
    let params = sdk_params();
    let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    for bad in [
        "",
        "   ",
        "not base64 at all!",
        "RSOYDt4T1cUTdK1PDd93/VVr8B8",                  // truncated
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=AA",               // trailing junk
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", // 32 bytes
        "RSOYDt4T1cUTdK1PDd93/VVr8B9=",                 // right length, wrong value
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",                 // right length, zeros
    ] {
        assert!(!valid(URL, &params, bad), "{bad:?}");
    }
    assert!(valid(URL, &params, good));
    // The right signature for other parameters or another token does not pass.
    assert!(!valid(URL, &params_string([("To", "+1")]), good));
    assert!(!is_valid("54321", [URL], &params, good));
}
