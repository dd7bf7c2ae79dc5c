//! Sending messages ourselves through Twilio's Messages API (follow-ups, conversations the
//! worker starts): the API's origin, the account and its credentials.

use std::fmt;

use crate::twilio::messages::Credentials;

#[cfg(feature = "objects")]
use super::whatsapp::whatsapp_template;
#[cfg(any(feature = "objects", feature = "kv"))]
use crate::vars::{ConfigError, Vars};

/// Settings for messages the worker sends itself through Twilio's Messages API.
#[derive(Clone, Default)]
pub struct Outbound {
    /// `TWILIO_API_BASE_URL` (default `https://api.twilio.com`).
    pub api_base_url: String,
    /// `TWILIO_ACCOUNT_SID`: the account conversations are started from.
    pub account_sid: Option<String>,
    /// The first of `TWILIO_AUTH_TOKEN`, the basic-auth password unless an API key is set.
    pub auth_token: Option<String>,
    /// `TWILIO_API_KEY_SID` and `TWILIO_API_KEY_SECRET`, used instead of the auth token.
    pub api_key: Option<(String, String)>,
    /// `OUTBOUND_API_KEY`: the bearer token of `POST /conversations` (unset: no such route).
    pub start_key: Option<String>,
    /// `WHATSAPP_TEMPLATE_SID` (and `WHATSAPP_TEMPLATE_VARIABLES`): the template sent to a
    /// WhatsApp pair outside its 24-hour window when the conversation gave none. Only the
    /// objects send on their own, so only their builds read it.
    #[cfg(feature = "objects")]
    pub whatsapp_template: Option<crate::conversation::Template>,
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a token or key.
        f.debug_struct("Outbound")
            .field("api_base_url", &self.api_base_url)
            .field("account_sid", &self.account_sid)
            .field("api_key", &self.api_key.as_ref().map(|(sid, _)| sid))
            .field("start_key", &self.start_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Outbound {
    /// Basic-auth credentials for the Messages API of `account_sid`: the API key when set,
    /// else the account and its auth token; `None` when neither is configured.
    pub fn credentials(&self, account_sid: &str) -> Option<Credentials> {
        match (&self.api_key, &self.auth_token) {
            (Some((sid, secret)), _) => Some(basic(sid, secret)),
            (None, Some(token)) => Some(basic(account_sid, token)),
            (None, None) => None,
        }
    }
}

/// Basic-auth credentials of `user` and `password`.
fn basic(user: &str, password: &str) -> Credentials {
    Credentials {
        user: user.to_string(),
        password: password.to_string(),
    }
}

/// What starting conversations, follow-ups and late replies need: the Messages API, the
/// account and its credentials, and the key of `POST /conversations`.
#[cfg(any(feature = "objects", feature = "kv"))]
pub(super) fn outbound(vars: &Vars<'_>) -> Result<Outbound, ConfigError> {
    // In this order, so that the first bad value named is the same as ever.
    let api_base_url = api_base_url(vars)?;
    let account_sid = account_sid(vars)?;
    let api_key = api_key(vars)?;
    Ok(Outbound {
        api_base_url,
        account_sid,
        auth_token: first_auth_token(vars),
        api_key,
        start_key: vars.get("OUTBOUND_API_KEY"),
        #[cfg(feature = "objects")]
        whatsapp_template: whatsapp_template(vars)?,
    })
}

/// `TWILIO_ACCOUNT_SID`, when set: an account's SID, not a key's or a number's.
#[cfg(any(feature = "objects", feature = "kv"))]
fn account_sid(vars: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let account_sid = vars.get("TWILIO_ACCOUNT_SID");
    if account_sid
        .as_deref()
        .is_some_and(|sid| !sid.starts_with("AC"))
    {
        return Err(not_an_account_sid());
    }
    Ok(account_sid)
}

/// `TWILIO_ACCOUNT_SID` that is not an account's SID, and where to find it.
#[cfg(any(feature = "objects", feature = "kv"))]
fn not_an_account_sid() -> ConfigError {
    ConfigError::new(
        "TWILIO_ACCOUNT_SID",
        "must start with AC (Console → Account info)",
    )
}

/// The first token of `TWILIO_AUTH_TOKEN`: during a rotation the others only verify.
#[cfg(any(feature = "objects", feature = "kv"))]
fn first_auth_token(vars: &Vars<'_>) -> Option<String> {
    vars.get("TWILIO_AUTH_TOKEN")
        .and_then(|t| t.split(',').next().map(|t| t.trim().to_string()))
}

/// `TWILIO_API_BASE_URL`, without a trailing slash.
#[cfg(any(feature = "objects", feature = "kv"))]
fn api_base_url(vars: &Vars<'_>) -> Result<String, ConfigError> {
    match vars.get("TWILIO_API_BASE_URL") {
        None => Ok(crate::twilio::messages::DEFAULT_API_BASE_URL.to_string()),
        Some(url) if super::is_http_url(&url) => Ok(url.trim_end_matches('/').to_string()),
        Some(_) => Err(not_an_api_origin()),
    }
}

/// `TWILIO_API_BASE_URL` that is not an http(s) origin, with an example of one.
#[cfg(any(feature = "objects", feature = "kv"))]
fn not_an_api_origin() -> ConfigError {
    ConfigError::new(
        "TWILIO_API_BASE_URL",
        "must start with https:// (e.g. https://api.dublin.ie1.twilio.com)",
    )
}

/// `TWILIO_API_KEY_SID` and `TWILIO_API_KEY_SECRET`: both or neither.
#[cfg(any(feature = "objects", feature = "kv"))]
fn api_key(vars: &Vars<'_>) -> Result<Option<(String, String)>, ConfigError> {
    match (
        vars.get("TWILIO_API_KEY_SID"),
        vars.get("TWILIO_API_KEY_SECRET"),
    ) {
        (Some(sid), Some(secret)) => Ok(Some((sid, secret))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(half_a_key("TWILIO_API_KEY_SECRET", "TWILIO_API_KEY_SID")),
        (None, Some(_)) => Err(half_a_key("TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET")),
    }
}

/// One half of the API key without the other: `missing` is unset while `given` is set.
#[cfg(any(feature = "objects", feature = "kv"))]
fn half_a_key(missing: &'static str, given: &str) -> ConfigError {
    ConfigError::new(missing, format!("is not set, but {given} is"))
}
