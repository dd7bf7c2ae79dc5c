//! The cookie Twilio keeps per pair: finding ours in a `Cookie` header, and `Set-Cookie`.

/// The cookie Twilio stores per pair and sends back with the pair's next message.
pub const COOKIE_NAME: &str = "sms_state";
/// Twilio documents no cookie size limit; browsers and most servers stop at 4096 bytes
/// for a whole `Set-Cookie` (name, value and attributes), so that is our ceiling.
pub const MAX_SET_COOKIE_BYTES: usize = 4096;

/// Values of every cookie named [`COOKIE_NAME`] in a `Cookie` request header, parsed by
/// the `headers` crate (hyperium). A header that does not parse yields none: the caller
/// then starts afresh, never fails.
///
/// (`headers` rather than the `cookie` crate: `cookie` parses `Expires` dates with the
/// `time` crate, which cost 15 KB of gzipped wasm for attributes a request never carries.)
pub fn our_cookie_values(cookie_header: &str) -> Vec<String> {
    use headers::Header;
    let Ok(value) = headers::HeaderValue::from_bytes(cookie_header.as_bytes()) else {
        return Vec::new();
    };
    let Ok(cookies) = headers::Cookie::decode(&mut std::iter::once(&value)) else {
        return Vec::new();
    };
    cookies
        .iter()
        .filter(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, v)| v.to_string())
        .collect()
}

/// The `Set-Cookie` value that stores `sealed` for `max_age` seconds (0 deletes it).
///
/// `HttpOnly; Secure` because the value is only ever for Twilio, over HTTPS;
/// `Max-Age` follows the conversation TTL so Twilio forgets it when we would.
/// `sealed` is base64url and dots, which need no quoting or escaping in a cookie value
/// (the tests check the result with the `cookie` crate's parser).
pub fn set_cookie(sealed: &str, max_age: u64) -> String {
    format!("{COOKIE_NAME}={sealed}; HttpOnly; Secure; Path=/; Max-Age={max_age}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_has_twilio_friendly_attributes() {
        let header = set_cookie("2ce.abc.def.ghi", 14_400);
        // Read back by an independent parser, as a client's cookie jar would.
        let parsed = cookie::Cookie::parse(header.as_str()).unwrap();
        assert_eq!(
            (parsed.name(), parsed.value()),
            (COOKIE_NAME, "2ce.abc.def.ghi")
        );
        assert_eq!(parsed.path(), Some("/"));
        assert_eq!(parsed.http_only(), Some(true));
        assert_eq!(parsed.secure(), Some(true));
        assert_eq!(parsed.max_age().map(|d| d.whole_seconds()), Some(14_400));
        let removal = cookie::Cookie::parse(set_cookie("", 0)).unwrap();
        assert_eq!(
            (
                removal.value(),
                removal.max_age().map(|d| d.whole_seconds())
            ),
            ("", Some(0))
        );
    }

    #[test]
    fn request_cookie_headers_yield_every_value_of_ours() {
        assert_eq!(
            our_cookie_values("a=1; sms_state=x.y; b=2;sms_state=z"),
            ["x.y", "z"]
        );
        assert!(our_cookie_values("").is_empty());
        assert!(our_cookie_values("sms_state").is_empty());
        // Bytes a header cannot hold are no cookie, not an error.
        assert!(our_cookie_values("sms_state=a\nb").is_empty());
        // Nor is a header with non-ASCII bytes (Twilio's jar for the pair only holds what we
        // set, which is ASCII): a fresh conversation rather than a guess.
        assert!(our_cookie_values("x=é; sms_state=v").is_empty());
    }
}
