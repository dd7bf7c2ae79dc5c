//! Checking `X-Twilio-Signature`, the proof that a webhook comes from Twilio.
//!
//! Twilio signs `HMAC-SHA1(auth token, url + name1 + value1 + name2 + value2 …)` with the
//! POST parameters sorted by name, and sends it base64-encoded. What makes this fiddly is
//! the URL: it must be the one Twilio requested, byte for byte, and what the worker sees
//! can differ from it in known ways, each of which [`candidate_urls`] undoes:
//! - the port: Twilio's SDKs accept a URL with and without its port (`:443` on https);
//! - WHATWG URL serialisation (what workerd hands us) escapes a raw `'` in the query as
//!   `%27`, while Twilio signed the raw `'` (twilio-node #1059, twilio-ruby #528);
//! - a tunnel or proxy in front changes the origin: `WEBHOOK_BASE_URL` names the real one.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// HMAC-SHA1 is 20 bytes; anything else in the header is rejected before any work.
const SIGNATURE_BYTES: usize = 20;

/// The string Twilio signs after the URL: parameters sorted by name (byte order),
/// each name followed by its value. A repeated name contributes each distinct value,
/// in sorted order, as the official SDKs do.
pub fn params_string<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = params.into_iter().collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut data = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len()).sum());
    for (name, value) in pairs {
        data.push_str(name);
        data.push_str(value);
    }
    data
}

/// The signature Twilio computes for `url` and the sorted parameter string, base64-encoded.
///
/// ```
/// use sms_conversation_worker::twilio::signature::{expected_signature, params_string};
/// // The example of Twilio's "Webhooks security" documentation.
/// let params = params_string([
///     ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
///     ("From", "+14158675310"), ("To", "+18005551212"),
/// ]);
/// assert_eq!(
///     expected_signature("12345", "https://example.com/myapp.php?foo=1&bar=2", &params),
///     "L/OH5YylLD5NRKLltdqwSvS0BnU=",
/// );
/// ```
pub fn expected_signature(auth_token: &str, url: &str, params: &str) -> String {
    keyed(auth_token).map_or_else(String::new, |mut mac| {
        mac.update(url.as_bytes());
        mac.update(params.as_bytes());
        crate::b64::standard(&mac.finalize().into_bytes())
    })
}

/// HMAC takes keys of any length, so this is always `Some`; `Option` keeps even the
/// impossible case from panicking.
fn keyed(auth_token: &str) -> Option<HmacSha1> {
    HmacSha1::new_from_slice(auth_token.as_bytes()).ok()
}

/// True when `signature` (the header's value) is Twilio's signature of one of `urls`
/// followed by `params` (from [`params_string`]; empty for GET webhooks).
///
/// Compared in constant time; a header that is not base64 of 20 bytes is simply false.
pub fn is_valid<'u>(
    auth_token: &str,
    urls: impl IntoIterator<Item = &'u str>,
    params: &str,
    signature: &str,
) -> bool {
    Verifier::new(auth_token).is_some_and(|v| v.is_valid(urls, params, signature))
}

/// `X-Twilio-Signature` checks under one auth token, keyed once (per isolate, in the
/// worker) rather than per request.
#[derive(Clone)]
pub struct Verifier {
    key: HmacSha1,
}

impl Verifier {
    /// Keys HMAC-SHA1 with the auth token; `None` only if HMAC refused the key, which it
    /// never does for any length.
    pub fn new(auth_token: &str) -> Option<Self> {
        keyed(auth_token).map(|key| Verifier { key })
    }

    /// See [`is_valid`]. Stops at the first URL that matches: which candidate matched is
    /// no secret, and each comparison is constant-time.
    pub fn is_valid<'u>(
        &self,
        urls: impl IntoIterator<Item = &'u str>,
        params: &str,
        signature: &str,
    ) -> bool {
        let mut expected = [0u8; SIGNATURE_BYTES];
        match crate::b64::from_standard_into(signature.trim(), &mut expected) {
            Some(SIGNATURE_BYTES) => {}
            _ => return false,
        }
        urls.into_iter().any(|url| {
            let mut mac = self.key.clone();
            mac.update(url.as_bytes());
            mac.update(params.as_bytes());
            // Constant time: how many leading bytes matched must not show in the timing.
            bool::from(mac.finalize().into_bytes().as_slice().ct_eq(&expected))
        })
    }
}

/// The URLs Twilio may have signed for a request the worker received at `url`.
///
/// With `base_url` (`WEBHOOK_BASE_URL`), it replaces the received origin: Twilio signed
/// `base_url` + the received path and query. Each URL is tried as is and with `%27` turned back into `'`, each of
/// those with and without the port (the scheme's default port is added when absent).
/// A `#fragment` and `user:pass@` are never signed, so they are dropped.
///
/// ```
/// use sms_conversation_worker::twilio::signature::candidate_urls;
/// let urls = candidate_urls("https://example.com/sms?Body=It%27s", None);
/// assert!(urls.contains(&"https://example.com/sms?Body=It's".to_string()));
/// assert!(urls.contains(&"https://example.com:443/sms?Body=It%27s".to_string()));
/// ```
pub fn candidate_urls(url: &str, base_url: Option<&str>) -> Vec<String> {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let received = split_url(url);
    // A base URL with a path (a proxy mounting the worker under a prefix) keeps it in
    // front of the path the worker received.
    let (scheme, authority, prefix) = match base_url.map(split_url) {
        Some(base) => (base.scheme, base.authority, base.rest.trim_end_matches('/')),
        None => (received.scheme, received.authority, ""),
    };
    let joined = concat(&[prefix, received.rest]);
    let path_and_query = joined.as_str();
    let (host, port) = split_port(authority);

    let mut authorities = vec![authority.to_string()];
    match (port, default_port(scheme)) {
        (Some(_), _) => authorities.push(host.to_string()),
        (None, Some(default)) => authorities.push(concat(&[host, ":", default])),
        (None, None) => {}
    }
    let mut tails = vec![path_and_query.to_string()];
    if path_and_query.contains("%27") {
        tails.push(unescape_apostrophes(path_and_query));
    }

    let mut urls = Vec::with_capacity(authorities.len() * tails.len());
    for tail in &tails {
        for authority in &authorities {
            let candidate = if scheme.is_empty() {
                concat(&[authority, tail])
            } else {
                concat(&[scheme, "://", authority, tail])
            };
            if !urls.contains(&candidate) {
                urls.push(candidate);
            }
        }
    }
    urls
}

struct UrlParts<'a> {
    scheme: &'a str,
    /// Host and optional port, without `user:pass@`.
    authority: &'a str,
    /// Path, query and everything after the authority.
    rest: &'a str,
}

fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, after) = url.split_once("://").unwrap_or(("", url));
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    UrlParts {
        scheme,
        authority,
        rest,
    }
}

/// Splits `host[:port]`, minding IPv6 literals like `[::1]:8787`.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!host.starts_with('[') || host.ends_with(']')) =>
        {
            (host, Some(port))
        }
        _ => (authority, None),
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") {
        Some("443")
    } else if scheme.eq_ignore_ascii_case("http") {
        Some("80")
    } else {
        None
    }
}

/// The parts joined, in one allocation (`format!` costs more, on every webhook).
fn concat(parts: &[&str]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        joined.push_str(part);
    }
    joined
}

/// Undoes WHATWG's `'` → `%27` in the query only: that is where the escaping happens,
/// and a `%27` Twilio itself put in the path must stay as it was.
fn unescape_apostrophes(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, query)) => format!("{path}?{}", query.replace("%27", "'")),
        None => path_and_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
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
}
