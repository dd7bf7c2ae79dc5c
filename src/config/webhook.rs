//! How webhooks arrive and prove they come from Twilio: the auth tokens, the method and
//! the public origin Twilio calls.

use std::fmt;

use crate::twilio::signature::Verifier;
use crate::vars::{ConfigError, Vars};

/// How webhooks prove they come from Twilio.
#[derive(Clone)]
pub enum Verification {
    /// Check `X-Twilio-Signature` against each token of `TWILIO_AUTH_TOKEN` (several during
    /// a rotation: Twilio's primary and secondary), keyed once.
    Signed(Vec<Verifier>),
    /// `ALLOW_UNSIGNED_WEBHOOKS=true` and no token: accept anything (local tinkering only).
    Unsigned,
    /// No token and no explicit opt-out: refuse webhooks rather than run open.
    MissingToken,
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token, even in debug output.
        match self {
            Verification::Signed(v) => write!(f, "Signed(<{} redacted>)", v.len()),
            Verification::Unsigned => f.write_str("Unsigned"),
            Verification::MissingToken => f.write_str("MissingToken"),
        }
    }
}

/// The HTTP method Twilio calls the webhook with (`WEBHOOK_METHOD`). Twilio uses one method
/// per number; accepting both would let a POST's signature pass as a GET with parameters in
/// the query that the signer never sent as a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMethod {
    /// `POST` (Twilio's default).
    Post,
    /// `GET`.
    Get,
    /// Either: only for a number that must switch methods, with the risk above.
    Any,
}

impl WebhookMethod {
    /// True when webhooks may use `method`.
    pub fn allows(self, method: &str) -> bool {
        match self {
            WebhookMethod::Post => method == "POST",
            WebhookMethod::Get => method == "GET",
            WebhookMethod::Any => method == "POST" || method == "GET",
        }
    }
}

/// `TWILIO_AUTH_TOKEN`, or `ALLOW_UNSIGNED_WEBHOOKS` without one.
pub(super) fn verification(vars: &Vars<'_>) -> Result<Verification, ConfigError> {
    let allow_unsigned = vars.flag("ALLOW_UNSIGNED_WEBHOOKS", false)?;
    Ok(match vars.get("TWILIO_AUTH_TOKEN") {
        Some(tokens) => Verification::Signed(verifiers(&tokens)?),
        None if allow_unsigned => Verification::Unsigned,
        None => Verification::MissingToken,
    })
}

/// `WEBHOOK_METHOD` (default POST).
pub(super) fn webhook_method(vars: &Vars<'_>) -> Result<WebhookMethod, ConfigError> {
    match vars.get("WEBHOOK_METHOD").map(|m| m.to_ascii_uppercase()) {
        None => Ok(WebhookMethod::Post),
        Some(m) if m == "POST" => Ok(WebhookMethod::Post),
        Some(m) if m == "GET" => Ok(WebhookMethod::Get),
        Some(m) if m == "ANY" => Ok(WebhookMethod::Any),
        Some(_) => Err(bad_method()),
    }
}

/// A `WEBHOOK_METHOD` that is not one Twilio calls with.
fn bad_method() -> ConfigError {
    ConfigError::new(
        "WEBHOOK_METHOD",
        "must be POST, GET or ANY (the method set for your number in Twilio)",
    )
}

/// One verifier per comma-separated token: the first is the one the worker signs or sends
/// with; any of them verifies a webhook.
fn verifiers(tokens: &str) -> Result<Vec<Verifier>, ConfigError> {
    tokens.split(',').map(str::trim).map(verifier).collect()
}

/// The verifier of one token; an empty one is a slip in the list.
fn verifier(token: &str) -> Result<Verifier, ConfigError> {
    if token.is_empty() {
        return Err(ConfigError::new(
            "TWILIO_AUTH_TOKEN",
            "has an empty token in its comma-separated list",
        ));
    }
    Verifier::new(token)
        .ok_or_else(|| ConfigError::new("TWILIO_AUTH_TOKEN", "cannot key HMAC-SHA1"))
}

/// `WEBHOOK_BASE_URL`: an origin that the request's path is appended to (for the signed
/// URL), hence no trailing slash and no `?` or `#`.
pub(super) fn base_url(url: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = url else { return Ok(None) };
    let url = url.trim_end_matches('/').to_string();
    if !is_origin(&url) {
        return Err(not_an_origin());
    }
    Ok(Some(url))
}

/// Whether `url` is an http(s) URL without a query or fragment.
fn is_origin(url: &str) -> bool {
    super::is_http_url(url) && !url.contains(['#', '?'])
}

/// A `WEBHOOK_BASE_URL` that is not an origin, with an example of one.
fn not_an_origin() -> ConfigError {
    ConfigError::new(
        "WEBHOOK_BASE_URL",
        "must be an origin starting with https:// or http://, without ? or # (e.g. https://abc.ngrok.app)",
    )
}
