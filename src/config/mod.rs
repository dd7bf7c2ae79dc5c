//! The core's configuration, parsed once per isolate from the worker's vars and secrets.
//!
//! Every setting has a default that is safe for production; the rest of the code never
//! reads an environment variable. A bad value is a [`ConfigError`] naming the variable,
//! so the worker can answer "misconfigured" instead of guessing. A conversation's own
//! settings are its own ([`crate::conversation::Conversation::new`]).

mod admin;
mod budget;
mod outbound;
mod replies;
mod storage;
mod webhook;
#[cfg(feature = "objects")]
mod whatsapp;

#[cfg(state_api)]
use admin::admin;
#[cfg(state_api)]
pub use admin::Admin;
pub use admin::MIN_ADMIN_KEY_BYTES;
use budget::reply_budget;
pub use budget::{DEFAULT_REPLY_BUDGET_SECONDS, MAX_REPLY_BUDGET_SECONDS};
#[cfg(any(feature = "objects", feature = "kv"))]
use outbound::outbound;
pub use outbound::Outbound;
use replies::smart_encoding;
pub use replies::DEFAULT_RESET_KEYWORD;
use storage::storage_settings;
pub use storage::{
    DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_TURNS, DEFAULT_KV_TTL_SECONDS, DEFAULT_TTL_SECONDS,
    MAX_TTL_SECONDS, MIN_KV_TTL_SECONDS,
};
use webhook::{base_url, verification, webhook_method};
pub use webhook::{Verification, WebhookMethod};

use crate::storage::Settings;
pub use crate::vars::{ConfigError, Vars};

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
    /// `REPLY_BUDGET_SECONDS`: how long the webhook's answer may take from its arrival
    /// (Twilio waits 15 s). Outside calls are cut to it when the reply cannot go late; with
    /// the objects and the Messages API, a reply that outlasts it is sent on its own.
    pub reply_budget_seconds: u64,
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
    "REPLY_BUDGET_SECONDS",
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
    /// assert_eq!(config.storage.conversation_ttl_seconds, 14400);
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
            // Only the objects and KV's late replies send on their own: other builds neither
            // read nor carry it.
            #[cfg(any(feature = "objects", feature = "kv"))]
            outbound: outbound(vars)?,
            #[cfg(not(any(feature = "objects", feature = "kv")))]
            outbound: Outbound::default(),
            opt_in_reply: vars.get("OPT_IN_REPLY"),
            help_reply: vars.get("HELP_REPLY"),
            #[cfg(state_api)]
            admin: admin(vars)?,
            dev_record_fetches: vars.flag("DEV_RECORD_FETCHES", false)?,
            smart_encoding: smart_encoding(vars)?,
            reply_budget_seconds: reply_budget(vars)?,
        })
    }

    /// Whether the stores bound keep conversations as long as the settings ask, once the
    /// bindings are known (the vars alone cannot say): `kv` when the `CONVERSATIONS`
    /// namespace is bound (feature `kv`), `objects` when `CONVERSATION_OBJECTS` is (feature
    /// `objects`). A `CONVERSATION_TTL_SECONDS` over 4 hours needs one of them, since Twilio
    /// drops a cookie after 4 idle hours.
    ///
    /// ```
    /// use sms_conversation_worker::config::{Config, Vars};
    /// let lookup = |name: &str| match name {
    ///     "SESSION_SECRET" => Some("a-session-secret-of-at-least-32-bytes!!".to_string()),
    ///     "CONVERSATION_TTL_SECONDS" => Some("86400".to_string()),
    ///     _ => None,
    /// };
    /// let config = Config::from_vars(&Vars::new(&lookup)).unwrap();
    /// assert!(config.check_stores(false, true).is_ok());
    /// let refused = config.check_stores(false, false).unwrap_err();
    /// assert_eq!(refused.variable, "CONVERSATION_TTL_SECONDS");
    /// ```
    pub fn check_stores(&self, kv: bool, objects: bool) -> Result<(), ConfigError> {
        storage::check_stores(&self.storage, kv, objects)
    }

    /// Why webhooks are refused when no auth token is configured and unsigned webhooks
    /// were not explicitly allowed; `None` otherwise.
    pub fn missing_token_error(&self) -> Option<ConfigError> {
        matches!(self.verification, Verification::MissingToken).then(missing_token)
    }
}

/// No `TWILIO_AUTH_TOKEN`, and what to do about it.
fn missing_token() -> ConfigError {
    ConfigError::new(
        "TWILIO_AUTH_TOKEN",
        "is not set: webhooks cannot be verified (set the secret, or ALLOW_UNSIGNED_WEBHOOKS=true for local tests only)",
    )
}

/// Whether `url` starts with https:// or http://, as every URL setting must.
fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

#[cfg(test)]
mod tests;
