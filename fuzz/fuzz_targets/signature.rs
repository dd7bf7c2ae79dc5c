//! `twilio::signature::candidate_urls`, `params_string` and `is_valid` on any URL, base URL,
//! auth token, header and parameters.
//!
//! Properties: nothing panics; candidates are 1 to 4 distinct URLs without a fragment, and
//! start with the URL as received (an absolute http(s) URL without fragment, credentials
//! or base URL);
//! `params_string` ignores order and repeats; and `is_valid` is exactly "the trimmed
//! header is Twilio's signature of one candidate", checked against `expected_signature`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::twilio::signature::{
    candidate_urls, expected_signature, is_valid, params_string,
};
use sms_fuzz::SignatureInput;

fuzz_target!(|data: &[u8]| {
    let input = SignatureInput::parse(data);
    let base = (!input.base_url.is_empty()).then_some(input.base_url.as_str());
    let urls = candidate_urls(&input.url, base);
    assert!((1..=4).contains(&urls.len()), "{urls:?}");
    for (i, u) in urls.iter().enumerate() {
        assert!(!urls[..i].contains(u), "duplicate candidate {u:?}");
        // (A WEBHOOK_BASE_URL with a '#' is a configuration mistake the signature target
        // does not judge: it only makes every signature fail.)
        assert!(
            u.find('#').is_none() || input.base_url.contains('#'),
            "fragment in candidate {u:?}"
        );
    }
    // What a runtime hands over: an absolute http(s) URL (without a fragment or
    // credentials, which Twilio does not sign).
    let absolute = input.url.starts_with("https://") || input.url.starts_with("http://");
    if base.is_none() && absolute && !input.url.contains(['#', '@']) {
        assert_eq!(
            urls[0], input.url,
            "the URL as received is not the first candidate"
        );
    }

    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(&input.params).unwrap_or_default();
    let pairs = || params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let data = params_string(pairs());
    assert_eq!(
        params_string(pairs().rev()),
        data,
        "order changed the signed string"
    );
    assert_eq!(
        params_string(pairs().chain(pairs())),
        data,
        "repeats changed the signed string"
    );

    let token = input.auth_token.as_str();
    let candidates = || urls.iter().map(String::as_str);
    let expected: Vec<String> = urls
        .iter()
        .map(|u| expected_signature(token, u, &data))
        .collect();
    let header = input.header.trim();
    assert_eq!(
        is_valid(token, candidates(), &data, &input.header),
        expected.iter().any(|e| e == header),
        "is_valid disagrees with expected_signature for header {:?}",
        input.header
    );
    // Twilio's signature of any candidate passes, with or without surrounding blanks.
    let good = &expected[expected.len() - 1];
    assert!(is_valid(token, candidates(), &data, good));
    assert!(is_valid(token, candidates(), &data, &format!(" {good}\t")));
});
