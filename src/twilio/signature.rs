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

use std::borrow::Cow;

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
    // Sorted by a number made of each name's first 8 bytes before the names themselves (the
    // same order): most comparisons of Twilio's names end there, without comparing strings.
    let mut pairs: Vec<(u64, &str, &str)> = params
        .into_iter()
        .map(|(name, value)| (prefix(name), name, value))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut data = String::with_capacity(pairs.iter().map(|(_, k, v)| k.len() + v.len()).sum());
    for (_, name, value) in pairs {
        data.push_str(name);
        data.push_str(value);
    }
    data
}

/// The first 8 bytes of `name` as a big-endian number, zero-padded: ordered as the names
/// are, except that names sharing their first 8 bytes tie.
fn prefix(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = name.len().min(8);
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
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
        let Some(expected) = decode_signature(signature) else {
            return false;
        };
        urls.into_iter()
            .any(|url| self.signed(url, params, &expected))
    }

    /// Whether `expected` is the signature of `url` followed by `params`.
    fn signed(&self, url: &str, params: &str, expected: &[u8; SIGNATURE_BYTES]) -> bool {
        let mut mac = self.key.clone();
        mac.update(url.as_bytes());
        mac.update(params.as_bytes());
        // Constant time: how many leading bytes matched must not show in the timing.
        bool::from(mac.finalize().into_bytes().as_slice().ct_eq(expected))
    }
}

/// The header's signature decoded on the stack; `None` unless it is base64 of 20 bytes.
fn decode_signature(signature: &str) -> Option<[u8; SIGNATURE_BYTES]> {
    let mut expected = [0u8; SIGNATURE_BYTES];
    match crate::b64::from_standard_into(signature.trim(), &mut expected) {
        Some(SIGNATURE_BYTES) => Some(expected),
        _ => None,
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
    let (scheme, authority, joined) = signed_parts(url, base_url);
    let authorities = authorities(scheme, authority);
    let unescaped = unescape_apostrophes(&joined);
    let tails = std::iter::once(&*joined).chain(unescaped.as_deref());
    let mut urls = Vec::with_capacity(4);
    for tail in tails {
        for authority in authorities.iter().flatten() {
            let candidate = candidate(scheme, authority, tail);
            if !urls.contains(&candidate) {
                urls.push(candidate);
            }
        }
    }
    urls
}

/// The first of [`candidate_urls`]: the URL as received (or on `base_url`'s origin), which is
/// the one Twilio signed unless a proxy or the runtime changed it. Tried alone first, so a
/// webhook does not build the others.
///
/// ```
/// use sms_conversation_worker::twilio::signature::{candidate_urls, first_candidate_url};
/// let url = "https://user@example.com/sms?Body=It%27s#top";
/// assert_eq!(first_candidate_url(url, None), "https://example.com/sms?Body=It%27s");
/// assert_eq!(first_candidate_url(url, None), candidate_urls(url, None)[0]);
/// ```
pub fn first_candidate_url(url: &str, base_url: Option<&str>) -> String {
    let (scheme, authority, joined) = signed_parts(url, base_url);
    candidate(scheme, authority, &joined)
}

/// The scheme, authority and path-and-query Twilio signed for a request received at `url`:
/// without its fragment and credentials, on `base_url`'s origin when there is one.
fn signed_parts<'a>(url: &'a str, base_url: Option<&'a str>) -> (&'a str, &'a str, Cow<'a, str>) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let received = split_url(url);
    let (scheme, authority, prefix) = signed_origin(&received, base_url);
    let joined = match prefix {
        "" => Cow::Borrowed(received.rest),
        _ => Cow::Owned(concat(&[prefix, received.rest])),
    };
    (scheme, authority, joined)
}

/// One URL to try: `scheme://authority` (or the authority alone, without a scheme) and the
/// tail.
fn candidate(scheme: &str, authority: &str, tail: &str) -> String {
    if scheme.is_empty() {
        concat(&[authority, tail])
    } else {
        concat(&[scheme, "://", authority, tail])
    }
}

/// The scheme, authority and path prefix Twilio signed: the received ones, or `base_url`'s.
/// A base URL with a path (a proxy mounting the worker under a prefix) keeps it in front of
/// the path the worker received.
fn signed_origin<'a>(
    received: &UrlParts<'a>,
    base_url: Option<&'a str>,
) -> (&'a str, &'a str, &'a str) {
    match base_url.map(split_url) {
        Some(base) => (base.scheme, base.authority, base.rest.trim_end_matches('/')),
        None => (received.scheme, received.authority, ""),
    }
}

/// The authority as received, then with its port dropped or the scheme's default added:
/// borrowed where it can be, as this runs on every webhook.
fn authorities<'a>(scheme: &str, authority: &'a str) -> [Option<Cow<'a, str>>; 2] {
    let (host, port) = split_port(authority);
    let other = match (port, default_port(scheme)) {
        (Some(_), _) => Some(Cow::Borrowed(host)),
        (None, Some(default)) => Some(Cow::Owned(concat(&[host, ":", default]))),
        (None, None) => None,
    };
    [Some(Cow::Borrowed(authority)), other]
}

struct UrlParts<'a> {
    scheme: &'a str,
    /// Host and optional port, without `user:pass@`.
    authority: &'a str,
    /// Path, query and everything after the authority.
    rest: &'a str,
}

/// A URL's scheme, authority (without credentials) and the rest.
fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, after) = match scheme_end(url) {
        Some(end) => (&url[..end], &url[end + 3..]),
        None => ("", url),
    };
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    UrlParts {
        scheme,
        authority: without_credentials(authority),
        rest,
    }
}

/// The authority without `user:pass@`, which is never signed.
fn without_credentials(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Splits `host[:port]`, minding IPv6 literals like `[::1]:8787`.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if is_port(host, port) => (host, Some(port)),
        _ => (authority, None),
    }
}

/// Whether what follows the last `:` is a port: digits, after a host that is not the inside
/// of an IPv6 literal.
fn is_port(host: &str, port: &str) -> bool {
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && (!host.starts_with('[') || host.ends_with(']'))
}

/// The port a scheme implies when the URL names none.
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

/// Where the first `://` of `url` starts.
pub(crate) fn scheme_end(url: &str) -> Option<usize> {
    find_short(url, "://")
}

/// Where `needle` (a few ASCII bytes) first starts in `haystack`, found from its first
/// character (a char search) rather than with a `&str` pattern, whose searcher costs more to
/// set up than a URL takes to scan.
fn find_short(haystack: &str, needle: &str) -> Option<usize> {
    let first = needle.chars().next()?;
    haystack
        .match_indices(first)
        .map(|(i, _)| i)
        .find(|&i| haystack[i..].starts_with(needle))
}

/// The path and query with WHATWG's `'` → `%27` undone in the query, when it has one: that
/// is where the escaping happens, and a `%27` Twilio itself put in the path must stay as it
/// was.
fn unescape_apostrophes(path_and_query: &str) -> Option<String> {
    let (path, query) = path_and_query.split_once('?')?;
    find_short(query, "%27")?;
    Some(format!("{path}?{}", query.replace("%27", "'")))
}

#[cfg(test)]
mod tests;
