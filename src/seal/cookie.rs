//! The cookie Twilio keeps per pair: finding ours in a `Cookie` header, and `Set-Cookie`.

/// The cookie Twilio stores per pair and sends back with the pair's next message.
pub const COOKIE_NAME: &str = "sms_state";

/// Values of every cookie named [`COOKIE_NAME`] in a `Cookie` request header. A header
/// that is not visible ASCII yields none: the caller then starts afresh, never fails.
pub fn our_cookie_values(cookie_header: &str) -> Vec<String> {
    cookie_values(cookie_header).map(str::to_string).collect()
}

/// The same without copies: one scan of the header, as the `headers` crate (hyperium)
/// reads a `Cookie` header, whose rules these are: every byte visible ASCII or a tab,
/// `;`-separated items (a `;` inside double quotes separates nothing), each trimmed and
/// split at its first `=`, name and value trimmed again; an item without `=` is skipped.
///
/// (Neither `headers` nor the `cookie` crate: on a default 1.8 KB cookie `headers` took
/// 9.5 µs natively against 0.25 µs for this scan (it validates and copies the header into
/// its own value, then a map), a quarter of a default webhook; `cookie` parses `Expires`
/// dates with the `time` crate, 15 KB of gzipped wasm for attributes a request never
/// carries.)
pub(crate) fn cookie_values(cookie_header: &str) -> impl Iterator<Item = &str> {
    // A fold, not `all`: with no early exit it runs on whole vectors (a default cookie is 2 KB).
    let readable = cookie_header
        .bytes()
        .fold(true, |ok, b| ok & (b == b'\t' || (b' '..0x7f).contains(&b)));
    let mut rest = if readable { cookie_header } else { "" };
    // A header without quotes (Twilio's, in practice) splits at each `;`, which the memchr
    // crate locates 16 bytes at a time (SIMD in wasm).
    let quoted = memchr::memchr(b'"', cookie_header.as_bytes()).is_some();
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = if quoted {
                item_end(rest)
            } else {
                memchr::memchr(b';', rest.as_bytes()).unwrap_or(rest.len())
            };
            let item = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            if let Some(value) = our_value(item) {
                return Some(value);
            }
        }
        None
    })
}

/// The value of a `name=value` item when it is our cookie.
fn our_value(item: &str) -> Option<&str> {
    let (name, value) = item.split_once('=')?;
    (name.trim() == COOKIE_NAME).then(|| value.trim())
}

/// Where the first item of `header` ends: at its first `;` outside double quotes. Bytes,
/// not chars: the header is ASCII.
fn item_end(header: &str) -> usize {
    let mut in_quotes = false;
    for (i, byte) in header.bytes().enumerate() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b';' if !in_quotes => return i,
            _ => {}
        }
    }
    header.len()
}

/// The `Set-Cookie` value that stores `sealed` for `max_age` seconds (0 deletes it).
///
/// `HttpOnly; Secure` because the value is only ever for Twilio, over HTTPS;
/// `Max-Age` follows the conversation TTL so Twilio forgets it when we would.
/// `sealed` is base64url and dots, which need no quoting or escaping in a cookie value
/// (the tests check the result with the `cookie` crate's parser).
pub fn set_cookie(sealed: &str, max_age: u64) -> String {
    const ATTRIBUTES: &str = "; HttpOnly; Secure; Path=/; Max-Age=";
    // Sized once (`format!` would grow it twice around a cookie of a kilobyte), and no
    // `core::fmt` for the number.
    let mut cookie = String::with_capacity(COOKIE_NAME.len() + sealed.len() + 60);
    cookie.push_str(COOKIE_NAME);
    cookie.push('=');
    cookie.push_str(sealed);
    cookie.push_str(ATTRIBUTES);
    cookie.push_str(itoa::Buffer::new().format(max_age));
    cookie
}

#[cfg(test)]
mod tests;
