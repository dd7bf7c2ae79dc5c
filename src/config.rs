//! The core's configuration, parsed once per isolate from the worker's vars and secrets.
//!
//! Every setting has a default that is safe for production; the rest of the code never
//! reads an environment variable. A bad value is a [`ConfigError`] naming the variable,
//! so the worker can answer "misconfigured" instead of guessing. A conversation's own
//! settings are its own ([`crate::conversation::Conversation::new`]).

use std::fmt;

use crate::record::HistoryLimits;
use crate::seal::SessionKeys;
use crate::storage::Settings;
use crate::twilio::signature::Verifier;
pub use crate::vars::{ConfigError, Vars};

/// Twilio drops a pair's cookies after 4 hours without a message; a longer
/// conversation TTL would promise what Twilio does not keep.
pub const DEFAULT_TTL_SECONDS: u64 = 4 * 60 * 60;
/// How long a conversation survives in KV after its last message (30 days); long enough
/// to recover a conversation whose cookie Twilio dropped after 4 hours idle.
pub const DEFAULT_KV_TTL_SECONDS: u64 = 30 * 24 * 60 * 60;
/// Workers KV refuses expirations under 60 seconds.
pub const MIN_KV_TTL_SECONDS: u64 = 60;
/// Turns kept by default: enough context for a conversation, small enough for a cookie.
pub const DEFAULT_HISTORY_TURNS: usize = 10;
/// Text bytes of history kept by default. A cookie holds about 3 KB of it; beyond that the
/// state spills to KV when `CONVERSATIONS` is bound, or older turns are trimmed to fit.
pub const DEFAULT_HISTORY_MAX_BYTES: usize = 8 * 1024;
/// The keyword that makes the worker forget a conversation.
pub const DEFAULT_RESET_KEYWORD: &str = "RESET";

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

/// Everything the webhook needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to check that a webhook comes from Twilio.
    pub verification: Verification,
    /// `WEBHOOK_BASE_URL`: the public origin Twilio calls when a tunnel or proxy
    /// rewrites the URL the worker sees (e.g. `https://abc.ngrok.app`).
    pub webhook_base_url: Option<String>,
    /// `WEBHOOK_METHOD`: the one method webhooks come with.
    pub webhook_method: WebhookMethod,
    /// How records are sealed and kept (`SESSION_SECRET`, TTLs, `ENCRYPT_STATE`, history).
    pub storage: Settings,
    /// `RESET_KEYWORD`: texting it alone (any case) forgets the conversation.
    pub reset_keyword: String,
    /// What sending messages ourselves needs (follow-ups, conversations the worker starts).
    pub outbound: Outbound,
    /// `OPT_IN_REPLY`: the answer to START, UNSTOP (and YES from an opted-out person); none
    /// by default, since Twilio's Advanced Opt-Out confirms opt-ins itself on SMS.
    pub opt_in_reply: Option<String>,
    /// `HELP_REPLY`: when set, HELP and INFO get it and never reach the conversation; unset,
    /// they are texts like any other (Twilio's Advanced Opt-Out answers them on SMS).
    pub help_reply: Option<String>,
    /// The state API (`/conversations/state`), when `ADMIN_API_KEY` enables it. Only workers
    /// that keep states (KV, objects) have it.
    #[cfg(state_api)]
    pub admin: Option<Admin>,
    /// `SMART_ENCODING`: replies lose the look-alikes that needlessly make a text UCS-2
    /// (curly quotes, long dashes, …) and cost more segments, as Twilio's Smart Encoding
    /// does for a Messaging Service's sends; applied before the reply is rendered and kept,
    /// so a retry gets the same text. Apply it to a text sent another way with
    /// `twilio::segments::smart_encode` (the `smart-encoding` feature).
    pub smart_encoding: bool,
    /// `DEV_RECORD_FETCHES`: each webhook's outside calls and their answers go back in the
    /// `X-Dev-Fetches` header, for the dev phone's transcripts. Local development only.
    pub dev_record_fetches: bool,
}

/// The state API's settings.
#[cfg(state_api)]
#[derive(Clone)]
pub struct Admin {
    /// `ADMIN_API_KEY`: the bearer token of `/conversations/state`.
    pub key: String,
    /// `TWILIO_ACCOUNT_SID`: the account of the pairs it reads and changes.
    pub account_sid: Option<String>,
}

#[cfg(state_api)]
impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        write!(f, "Admin(<redacted>, {:?})", self.account_sid)
    }
}

/// The shortest `ADMIN_API_KEY` accepted: it guards every pair's state.
pub const MIN_ADMIN_KEY_BYTES: usize = 32;

/// `ADMIN_API_KEY` (and the account), when set: at least [`MIN_ADMIN_KEY_BYTES`].
#[cfg(state_api)]
fn admin(vars: &Vars<'_>) -> Result<Option<Admin>, ConfigError> {
    let Some(key) = vars.get("ADMIN_API_KEY") else {
        return Ok(None);
    };
    if key.len() < MIN_ADMIN_KEY_BYTES {
        return Err(ConfigError::new(
            "ADMIN_API_KEY",
            format!(
                "must be at least {MIN_ADMIN_KEY_BYTES} bytes (`npm run --silent secret` makes one)"
            ),
        ));
    }
    Ok(Some(Admin {
        key,
        account_sid: vars.get("TWILIO_ACCOUNT_SID"),
    }))
}

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
    pub fn credentials(&self, account_sid: &str) -> Option<crate::twilio::messages::Credentials> {
        use crate::twilio::messages::Credentials;
        match (&self.api_key, &self.auth_token) {
            (Some((sid, secret)), _) => Some(Credentials {
                user: sid.clone(),
                password: secret.clone(),
            }),
            (None, Some(token)) => Some(Credentials {
                user: account_sid.to_string(),
                password: token.clone(),
            }),
            (None, None) => None,
        }
    }
}

/// The names the core reads (conversations read their own).
pub const VARIABLES: &[&str] = &[
    "TWILIO_AUTH_TOKEN",
    "ALLOW_UNSIGNED_WEBHOOKS",
    "WEBHOOK_BASE_URL",
    "WEBHOOK_METHOD",
    "SESSION_SECRET",
    "CONVERSATION_TTL_SECONDS",
    "HISTORY_TURNS",
    "HISTORY_MAX_BYTES",
    "ENCRYPT_STATE",
    "KV_TTL_SECONDS",
    "RESET_KEYWORD",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_API_BASE_URL",
    "TWILIO_API_KEY_SID",
    "TWILIO_API_KEY_SECRET",
    "OUTBOUND_API_KEY",
    "OPT_IN_REPLY",
    "HELP_REPLY",
    "ADMIN_API_KEY",
    "DEV_RECORD_FETCHES",
    "WHATSAPP_TEMPLATE_SID",
    "WHATSAPP_TEMPLATE_VARIABLES",
    "SMART_ENCODING",
];

impl Config {
    /// Builds the configuration from a lookup of variable names (vars and secrets alike).
    ///
    /// Empty values count as unset, so `KEY=` in `.dev.vars` means "default".
    ///
    /// ```
    /// use sms_conversation_worker::config::{Config, Vars};
    /// let secret = "a-session-secret-of-at-least-32-bytes!!";
    /// let lookup = |name: &str| match name {
    ///     "SESSION_SECRET" => Some(secret.to_string()),
    ///     "TWILIO_AUTH_TOKEN" => Some("12345".to_string()),
    ///     _ => None,
    /// };
    /// let config = Config::from_vars(&Vars::new(&lookup)).unwrap();
    /// assert_eq!(config.storage.cookie_ttl_seconds, 14400);
    /// ```
    pub fn from_vars(vars: &Vars<'_>) -> Result<Config, ConfigError> {
        Ok(Config {
            verification: verification(vars)?,
            webhook_method: webhook_method(vars)?,
            storage: storage_settings(vars)?,
            webhook_base_url: base_url(vars.get("WEBHOOK_BASE_URL"))?,
            reset_keyword: vars
                .get("RESET_KEYWORD")
                .unwrap_or_else(|| DEFAULT_RESET_KEYWORD.into()),
            // Only the objects send on their own: other builds neither read nor carry it.
            #[cfg(feature = "objects")]
            outbound: outbound(vars)?,
            #[cfg(not(feature = "objects"))]
            outbound: Outbound::default(),
            opt_in_reply: vars.get("OPT_IN_REPLY"),
            help_reply: vars.get("HELP_REPLY"),
            #[cfg(state_api)]
            admin: admin(vars)?,
            dev_record_fetches: vars.flag("DEV_RECORD_FETCHES", false)?,
            smart_encoding: smart_encoding(vars)?,
        })
    }

    /// Why webhooks are refused when no auth token is configured and unsigned webhooks
    /// were not explicitly allowed; `None` otherwise.
    pub fn missing_token_error(&self) -> Option<ConfigError> {
        matches!(self.verification, Verification::MissingToken).then(|| {
            ConfigError::new(
                "TWILIO_AUTH_TOKEN",
                "is not set: webhooks cannot be verified (set the secret, or ALLOW_UNSIGNED_WEBHOOKS=true for local tests only)",
            )
        })
    }
}

/// `TWILIO_AUTH_TOKEN`, or `ALLOW_UNSIGNED_WEBHOOKS` without one.
fn verification(vars: &Vars<'_>) -> Result<Verification, ConfigError> {
    let allow_unsigned = vars.flag("ALLOW_UNSIGNED_WEBHOOKS", false)?;
    Ok(match vars.get("TWILIO_AUTH_TOKEN") {
        Some(tokens) => Verification::Signed(verifiers(&tokens)?),
        None if allow_unsigned => Verification::Unsigned,
        None => Verification::MissingToken,
    })
}

/// `SMART_ENCODING` (default off); on needs the `smart-encoding` feature.
fn smart_encoding(vars: &Vars<'_>) -> Result<bool, ConfigError> {
    let on = vars.flag("SMART_ENCODING", false)?;
    if on && !cfg!(feature = "smart-encoding") {
        return Err(ConfigError::new(
            "SMART_ENCODING",
            "needs the smart-encoding feature of sms-conversation-worker (Cargo.toml)",
        ));
    }
    Ok(on)
}

/// `WEBHOOK_METHOD` (default POST).
fn webhook_method(vars: &Vars<'_>) -> Result<WebhookMethod, ConfigError> {
    match vars.get("WEBHOOK_METHOD").map(|m| m.to_ascii_uppercase()) {
        None => Ok(WebhookMethod::Post),
        Some(m) if m == "POST" => Ok(WebhookMethod::Post),
        Some(m) if m == "GET" => Ok(WebhookMethod::Get),
        Some(m) if m == "ANY" => Ok(WebhookMethod::Any),
        Some(_) => Err(ConfigError::new(
            "WEBHOOK_METHOD",
            "must be POST, GET or ANY (the method set for your number in Twilio)",
        )),
    }
}

/// How records are sealed and kept: `SESSION_SECRET`, the TTLs, history and encryption.
fn storage_settings(vars: &Vars<'_>) -> Result<Settings, ConfigError> {
    let keys = match vars.get("SESSION_SECRET") {
        Some(secrets) => SessionKeys::from_secrets(&secrets)?,
        None => {
            return Err(ConfigError::new(
                "SESSION_SECRET",
                "is not set (generate one with `npm run --silent secret`)",
            ))
        }
    };
    let cookie_ttl_seconds = vars
        .number(
            "CONVERSATION_TTL_SECONDS",
            DEFAULT_TTL_SECONDS,
            60..=DEFAULT_TTL_SECONDS,
            "of seconds",
        )
        .map_err(|e| {
            ConfigError::new(
                e.variable,
                format!("{} (Twilio keeps cookies 4 hours at most)", e.problem),
            )
        })?;
    let history = history_limits(vars)?;
    Ok(Settings {
        keys,
        cookie_ttl_seconds,
        kv_ttl_seconds: vars.number(
            "KV_TTL_SECONDS",
            DEFAULT_KV_TTL_SECONDS,
            MIN_KV_TTL_SECONDS..=365 * 24 * 60 * 60,
            "of seconds (KV's minimum is 60)",
        )?,
        encrypt: vars.flag("ENCRYPT_STATE", history.turns > 0)?,
        history,
    })
}

/// `HISTORY_TURNS` and `HISTORY_MAX_BYTES`.
fn history_limits(vars: &Vars<'_>) -> Result<HistoryLimits, ConfigError> {
    Ok(HistoryLimits {
        turns: vars.number(
            "HISTORY_TURNS",
            DEFAULT_HISTORY_TURNS as u64,
            0..=100,
            "of turns",
        )? as usize,
        bytes: vars.number(
            "HISTORY_MAX_BYTES",
            DEFAULT_HISTORY_MAX_BYTES as u64,
            0..=1 << 20,
            "of bytes",
        )? as usize,
    })
}

/// One verifier per comma-separated token: the first is the one the worker signs or sends
/// with; any of them verifies a webhook.
fn verifiers(tokens: &str) -> Result<Vec<Verifier>, ConfigError> {
    tokens
        .split(',')
        .map(str::trim)
        .map(|token| {
            if token.is_empty() {
                return Err(ConfigError::new(
                    "TWILIO_AUTH_TOKEN",
                    "has an empty token in its comma-separated list",
                ));
            }
            Verifier::new(token)
                .ok_or_else(|| ConfigError::new("TWILIO_AUTH_TOKEN", "cannot key HMAC-SHA1"))
        })
        .collect()
}

/// What starting conversations and sending follow-ups need: the Messages API, the account
/// and its credentials, and the key of `POST /conversations`.
#[cfg(feature = "objects")]
fn outbound(vars: &Vars<'_>) -> Result<Outbound, ConfigError> {
    let api_base_url = api_base_url(vars)?;
    let account_sid = vars.get("TWILIO_ACCOUNT_SID");
    if account_sid
        .as_deref()
        .is_some_and(|sid| !sid.starts_with("AC"))
    {
        return Err(ConfigError::new(
            "TWILIO_ACCOUNT_SID",
            "must start with AC (Console → Account info)",
        ));
    }
    let api_key = api_key(vars)?;
    let auth_token = vars
        .get("TWILIO_AUTH_TOKEN")
        .and_then(|t| t.split(',').next().map(|t| t.trim().to_string()));
    Ok(Outbound {
        api_base_url,
        account_sid,
        auth_token,
        api_key,
        start_key: vars.get("OUTBOUND_API_KEY"),
        #[cfg(feature = "objects")]
        whatsapp_template: whatsapp_template(vars)?,
    })
}

/// `WHATSAPP_TEMPLATE_SID` and `WHATSAPP_TEMPLATE_VARIABLES`.
#[cfg(feature = "objects")]
fn whatsapp_template(
    vars: &Vars<'_>,
) -> Result<Option<crate::conversation::Template>, ConfigError> {
    let variables = vars.get("WHATSAPP_TEMPLATE_VARIABLES").unwrap_or_default();
    let Some(content_sid) = vars.get("WHATSAPP_TEMPLATE_SID") else {
        if variables.is_empty() {
            return Ok(None);
        }
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_VARIABLES",
            "is set without WHATSAPP_TEMPLATE_SID",
        ));
    };
    if !content_sid.starts_with("HX") {
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_SID",
            "must be a Content SID starting with HX (Console → Content Template Builder)",
        ));
    }
    if !variables.is_empty()
        && !matches!(
            serde_json::from_str::<serde_json::Value>(&variables),
            Ok(serde_json::Value::Object(_))
        )
    {
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_VARIABLES",
            r#"must be a JSON object, e.g. {"1":"there"}"#,
        ));
    }
    Ok(Some(crate::conversation::Template {
        content_sid,
        content_variables: variables,
    }))
}

/// `TWILIO_API_BASE_URL`, without a trailing slash.
#[cfg(feature = "objects")]
fn api_base_url(vars: &Vars<'_>) -> Result<String, ConfigError> {
    match vars.get("TWILIO_API_BASE_URL") {
        None => Ok(crate::twilio::messages::DEFAULT_API_BASE_URL.to_string()),
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(url.trim_end_matches('/').to_string())
        }
        Some(_) => Err(ConfigError::new(
            "TWILIO_API_BASE_URL",
            "must start with https:// (e.g. https://api.dublin.ie1.twilio.com)",
        )),
    }
}

/// `TWILIO_API_KEY_SID` and `TWILIO_API_KEY_SECRET`: both or neither.
#[cfg(feature = "objects")]
fn api_key(vars: &Vars<'_>) -> Result<Option<(String, String)>, ConfigError> {
    match (
        vars.get("TWILIO_API_KEY_SID"),
        vars.get("TWILIO_API_KEY_SECRET"),
    ) {
        (Some(sid), Some(secret)) => Ok(Some((sid, secret))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(
            "TWILIO_API_KEY_SECRET",
            "is not set, but TWILIO_API_KEY_SID is",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "TWILIO_API_KEY_SID",
            "is not set, but TWILIO_API_KEY_SECRET is",
        )),
    }
}

fn base_url(url: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = url else { return Ok(None) };
    let url = url.trim_end_matches('/').to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(['#', '?']) {
        return Err(ConfigError::new(
            "WEBHOOK_BASE_URL",
            "must be an origin starting with https:// or http://, without ? or # (e.g. https://abc.ngrok.app)",
        ));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests;
