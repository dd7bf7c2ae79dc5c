//! The request as the webhook sees it: the parts of HTTP it reads, its body, and the checks
//! several routes share (a bearer token, a phone number).

use crate::response::{Rejection, MAX_BODY_BYTES};

/// The parts of an HTTP request the webhook looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, ….
    pub method: &'a str,
    /// The full URL as the runtime hands it over.
    pub url: &'a str,
    /// `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// `X-Twilio-Signature` header.
    pub signature: Option<&'a str>,
    /// `Cookie` header.
    pub cookie: Option<&'a str>,
    /// `Authorization` header (only `POST /conversations` reads it).
    pub authorization: Option<&'a str>,
    /// `Idempotency-Key` header (only `POST /conversations` reads it).
    pub idempotency_key: Option<&'a str>,
    /// The body (empty for GET), or why it could not be read.
    pub body: Body<'a>,
}

/// A request body as the runtime delivered it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The bytes.
    Read(&'a [u8]),
    /// Larger than [`MAX_BODY_BYTES`] (announced or found so): not read.
    TooLarge,
    /// The runtime failed to read it (a client that went away mid-upload).
    Unreadable,
}

impl Default for Body<'_> {
    fn default() -> Self {
        Body::Read(&[])
    }
}

impl<'a> Body<'a> {
    /// The bytes, when they were read and are within [`MAX_BODY_BYTES`]; else why not.
    pub(super) fn within_limit(self) -> Result<&'a [u8], Rejection> {
        match self {
            Body::Read(bytes) if bytes.len() <= MAX_BODY_BYTES => Ok(bytes),
            Body::Read(_) | Body::TooLarge => Err(Rejection::TooLarge),
            Body::Unreadable => Err(Rejection::UnreadableBody),
        }
    }
}

/// True when the request's `Authorization: Bearer <token>` is `key`, compared in constant
/// time: how much of the key matched must not show in the timing.
#[cfg(any(feature = "objects", state_api))]
pub(crate) fn bearer_is(req: &HttpRequest<'_>, key: &str) -> bool {
    let bearer = bearer(req).trim().as_bytes();
    bool::from(subtle::ConstantTimeEq::ct_eq(bearer, key.as_bytes()))
}

/// The request's bearer token: what follows the `Bearer` scheme in `Authorization`, empty
/// without one. The scheme's name is case-insensitive (RFC 7235 §2.1: `bearer …` is as good).
#[cfg(any(feature = "objects", state_api))]
fn bearer<'a>(req: &HttpRequest<'a>) -> &'a str {
    let Some((scheme, token)) = req.authorization.and_then(|a| a.trim().split_once(' ')) else {
        return "";
    };
    if scheme.eq_ignore_ascii_case("Bearer") {
        token
    } else {
        ""
    }
}

/// E.164 (`+` and 7 to 15 digits, not starting with 0), optionally behind `whatsapp:`.
#[cfg(any(feature = "objects", state_api))]
pub(crate) fn is_address(address: &str) -> bool {
    let number = address.strip_prefix("whatsapp:").unwrap_or(address);
    number.strip_prefix('+').is_some_and(is_e164_digits)
}

/// E.164's digits after the `+`: 7 to 15 of them, the first not 0.
#[cfg(any(feature = "objects", state_api))]
fn is_e164_digits(digits: &str) -> bool {
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(all(test, any(feature = "objects", state_api)))]
mod tests;
