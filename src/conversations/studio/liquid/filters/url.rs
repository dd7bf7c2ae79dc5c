//! The URL filters: form encoding (a space is `+`), as Ruby's `CGI.escape` does.

use serde_json::Value;

use super::super::value::text;

/// `url_encode` or `url_decode`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Url {
    Encode,
    Decode,
}

pub(super) fn apply(f: Url, value: &Value) -> Value {
    let s = text(value);
    Value::String(match f {
        Url::Encode => form_urlencoded::byte_serialize(s.as_bytes()).collect(),
        Url::Decode => decode(&s),
    })
}

/// `s` decoded as a form value (read up to a raw `&`).
fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
