//! Typed configuration, parsed once per isolate from the worker's vars and secrets.
//!
//! Every setting has a default that is safe for production; the rest of the code never
//! reads an environment variable. A bad value is a [`ConfigError`] naming the variable,
//! so the worker can answer "misconfigured" instead of guessing.

use std::collections::BTreeMap;
use std::fmt;

use crate::conversation::{Template, Templates};
use crate::session::SessionKeys;
use crate::signature::Verifier;
use crate::state::HistoryLimits;

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

/// A configuration variable that is missing or has an unusable value.
///
/// Its `Display` names the variable and the problem, never the value: values are
/// often secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable or secret, as named in `wrangler.toml` / `.dev.vars`.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// How webhooks prove they come from Twilio.
#[derive(Clone)]
pub enum Verification {
    /// Check `X-Twilio-Signature` with the auth token (`TWILIO_AUTH_TOKEN`), keyed once.
    Signed(Verifier),
    /// `ALLOW_UNSIGNED_WEBHOOKS=true` and no token: accept anything (local tinkering only).
    Unsigned,
    /// No token and no explicit opt-out: refuse webhooks rather than run open.
    MissingToken,
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token, even in debug output.
        match self {
            Verification::Signed(_) => f.write_str("Signed(<redacted>)"),
            Verification::Unsigned => f.write_str("Unsigned"),
            Verification::MissingToken => f.write_str("MissingToken"),
        }
    }
}

/// Settings of the default conversation (see [`crate::conversation`]).
#[derive(Debug, Clone)]
pub struct ConversationConfig {
    /// E.164 number → name, from `KNOWN_CALLERS`.
    pub known_callers: BTreeMap<String, String>,
    /// Name used for `{name}` when the sender is not a known caller (`UNKNOWN_CALLER_NAME`).
    pub unknown_caller_name: String,
    /// Reply templates (`REPLY_FIRST`, `REPLY_NEXT`, `REPLY_FIRST_KNOWN`, `REPLY_NEXT_KNOWN`).
    pub templates: Templates,
}

/// Everything the webhook needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to check that a webhook comes from Twilio.
    pub verification: Verification,
    /// `WEBHOOK_BASE_URL`: the public origin Twilio calls when a tunnel or proxy
    /// rewrites the URL the worker sees (e.g. `https://abc.ngrok.app`).
    pub webhook_base_url: Option<String>,
    /// Keys that seal and open the conversation cookie (`SESSION_SECRET`).
    pub session_keys: SessionKeys,
    /// `CONVERSATION_TTL_SECONDS`: idle time after which a cookie no longer opens;
    /// also the cookie's `Max-Age`.
    pub ttl_seconds: u64,
    /// The default conversation's settings.
    pub conversation: ConversationConfig,
    /// How many recent turns the state keeps (`HISTORY_TURNS`, `HISTORY_MAX_BYTES`).
    pub history: HistoryLimits,
    /// `ENCRYPT_STATE`: seal states with ChaCha20-Poly1305 so Twilio (which stores the
    /// cookie) and KV never hold readable message bodies. On by default when turns are kept.
    pub encrypt_state: bool,
    /// `KV_TTL_SECONDS`: how long a pair's entry in the `CONVERSATIONS` namespace lives
    /// after its last message; a state recovered from KV is valid that long.
    pub kv_ttl_seconds: u64,
    /// `RESET_KEYWORD`: texting it alone (any case) forgets the conversation.
    pub reset_keyword: String,
}

/// The names the worker reads, so the adapter can look each one up.
pub const VARIABLES: &[&str] = &[
    "TWILIO_AUTH_TOKEN",
    "ALLOW_UNSIGNED_WEBHOOKS",
    "WEBHOOK_BASE_URL",
    "SESSION_SECRET",
    "CONVERSATION_TTL_SECONDS",
    "KNOWN_CALLERS",
    "UNKNOWN_CALLER_NAME",
    "REPLY_FIRST",
    "REPLY_NEXT",
    "REPLY_FIRST_KNOWN",
    "REPLY_NEXT_KNOWN",
    "HISTORY_TURNS",
    "HISTORY_MAX_BYTES",
    "ENCRYPT_STATE",
    "KV_TTL_SECONDS",
    "RESET_KEYWORD",
];

/// Default reply to the first message of an unknown sender.
pub const DEFAULT_REPLY_FIRST: &str = "Hello, thanks for the new message.";
/// Default reply to every later message of an unknown sender.
pub const DEFAULT_REPLY_NEXT: &str = "Hello, thanks for message number {count}";
/// Default reply to the first message of a known caller.
pub const DEFAULT_REPLY_FIRST_KNOWN: &str = "Hello {name}, thanks for the new message.";
/// Default reply to every later message of a known caller.
pub const DEFAULT_REPLY_NEXT_KNOWN: &str = "Hello {name}, thanks for message number {count}";

impl Config {
    /// Builds the configuration from a lookup of variable names (vars and secrets alike).
    ///
    /// Empty values count as unset, so `KEY=` in `.dev.vars` means "default".
    ///
    /// ```
    /// use sms_conversation_worker::config::Config;
    /// let secret = "a-session-secret-of-at-least-32-bytes!!";
    /// let config = Config::from_lookup(|name| match name {
    ///     "SESSION_SECRET" => Some(secret.to_string()),
    ///     "TWILIO_AUTH_TOKEN" => Some("12345".to_string()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!(config.ttl_seconds, 14400);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let allow_unsigned = match get("ALLOW_UNSIGNED_WEBHOOKS") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| {
                ConfigError::new("ALLOW_UNSIGNED_WEBHOOKS", "must be \"true\" or \"false\"")
            })?,
        };
        let verification = match get("TWILIO_AUTH_TOKEN") {
            Some(token) => Verification::Signed(
                Verifier::new(token.trim())
                    .ok_or_else(|| ConfigError::new("TWILIO_AUTH_TOKEN", "cannot key HMAC-SHA1"))?,
            ),
            None if allow_unsigned => Verification::Unsigned,
            None => Verification::MissingToken,
        };

        let webhook_base_url = match get("WEBHOOK_BASE_URL") {
            None => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_string();
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(['#', '?'])
                {
                    return Err(ConfigError::new(
                        "WEBHOOK_BASE_URL",
                        "must be an origin starting with https:// or http://, without ? or # (e.g. https://abc.ngrok.app)",
                    ));
                }
                Some(url)
            }
        };

        let session_keys = match get("SESSION_SECRET") {
            Some(secrets) => SessionKeys::from_secrets(&secrets)?,
            None => {
                return Err(ConfigError::new(
                    "SESSION_SECRET",
                    "is not set (generate one with `npm run --silent secret`)",
                ))
            }
        };

        let ttl_seconds = match get("CONVERSATION_TTL_SECONDS") {
            None => DEFAULT_TTL_SECONDS,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (60..=DEFAULT_TTL_SECONDS).contains(&n) => n,
                _ => {
                    return Err(ConfigError::new(
                        "CONVERSATION_TTL_SECONDS",
                        "must be a whole number of seconds from 60 to 14400 (Twilio keeps cookies 4 hours at most)",
                    ))
                }
            },
        };

        let known_callers = match get("KNOWN_CALLERS") {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str::<BTreeMap<String, String>>(&json).map_err(|e| {
                ConfigError::new(
                    "KNOWN_CALLERS",
                    format!(
                        "must be a JSON object of E.164 number to name, like {{\"+14155550100\": \"Rey\"}} ({e})"
                    ),
                )
            })?,
        };

        let template = |name: &'static str, default: &str| -> Result<Template, ConfigError> {
            let text = get(name).unwrap_or_else(|| default.to_string());
            Template::parse(&text).map_err(|problem| ConfigError::new(name, problem))
        };
        let templates = Templates {
            first: template("REPLY_FIRST", DEFAULT_REPLY_FIRST)?,
            next: template("REPLY_NEXT", DEFAULT_REPLY_NEXT)?,
            first_known: template("REPLY_FIRST_KNOWN", DEFAULT_REPLY_FIRST_KNOWN)?,
            next_known: template("REPLY_NEXT_KNOWN", DEFAULT_REPLY_NEXT_KNOWN)?,
        };

        let number =
            |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str| {
                match get(name) {
                    None => Ok(default),
                    Some(v) => match v.trim().parse::<u64>() {
                        Ok(n) if range.contains(&n) => Ok(n),
                        _ => Err(ConfigError::new(
                            name,
                            format!(
                                "must be a whole number {unit} from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )),
                    },
                }
            };
        let history = HistoryLimits {
            turns: number(
                "HISTORY_TURNS",
                DEFAULT_HISTORY_TURNS as u64,
                0..=100,
                "of turns",
            )? as usize,
            bytes: number(
                "HISTORY_MAX_BYTES",
                DEFAULT_HISTORY_MAX_BYTES as u64,
                0..=1 << 20,
                "of bytes",
            )? as usize,
        };
        let encrypt_state = match get("ENCRYPT_STATE") {
            None => history.turns > 0,
            Some(v) => parse_bool(&v).ok_or_else(|| {
                ConfigError::new("ENCRYPT_STATE", "must be \"true\" or \"false\"")
            })?,
        };
        let kv_ttl_seconds = number(
            "KV_TTL_SECONDS",
            DEFAULT_KV_TTL_SECONDS,
            MIN_KV_TTL_SECONDS..=365 * 24 * 60 * 60,
            "of seconds (KV's minimum is 60)",
        )?;
        let reset_keyword = get("RESET_KEYWORD")
            .unwrap_or_else(|| DEFAULT_RESET_KEYWORD.into())
            .trim()
            .to_string();

        Ok(Config {
            verification,
            webhook_base_url,
            session_keys,
            ttl_seconds,
            conversation: ConversationConfig {
                known_callers,
                unknown_caller_name: get("UNKNOWN_CALLER_NAME").unwrap_or_else(|| "Friend".into()),
                templates,
            },
            history,
            encrypt_state,
            kv_ttl_seconds,
            reset_keyword,
        })
    }
}

impl Config {
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

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_classic_conversation_over_twilios_four_hours() {
        let c = config(&[("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", "t")]).unwrap();
        assert_eq!(c.ttl_seconds, 14400);
        assert!(matches!(c.verification, Verification::Signed(_)));
        assert!(c.conversation.known_callers.is_empty());
        assert!(c.webhook_base_url.is_none());
    }

    #[test]
    fn a_missing_auth_token_refuses_webhooks_unless_unsigned_is_explicit() {
        let c = config(&[("SESSION_SECRET", SECRET)]).unwrap();
        assert!(matches!(c.verification, Verification::MissingToken));
        let c = config(&[
            ("SESSION_SECRET", SECRET),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ])
        .unwrap();
        assert!(matches!(c.verification, Verification::Unsigned));
        // A configured token always wins over the opt-out.
        let c = config(&[
            ("SESSION_SECRET", SECRET),
            ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
            ("TWILIO_AUTH_TOKEN", "t"),
        ])
        .unwrap();
        assert!(matches!(c.verification, Verification::Signed(_)));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "SESSION_SECRET"),
            (&[("SESSION_SECRET", "short")], "SESSION_SECRET"),
            (
                &[("SESSION_SECRET", SECRET), ("KNOWN_CALLERS", "{not json")],
                "KNOWN_CALLERS",
            ),
            (
                &[("SESSION_SECRET", SECRET), ("KNOWN_CALLERS", "[\"+1\"]")],
                "KNOWN_CALLERS",
            ),
            (
                &[
                    ("SESSION_SECRET", SECRET),
                    ("CONVERSATION_TTL_SECONDS", "4h"),
                ],
                "CONVERSATION_TTL_SECONDS",
            ),
            (
                &[
                    ("SESSION_SECRET", SECRET),
                    ("CONVERSATION_TTL_SECONDS", "0"),
                ],
                "CONVERSATION_TTL_SECONDS",
            ),
            (
                &[
                    ("SESSION_SECRET", SECRET),
                    ("ALLOW_UNSIGNED_WEBHOOKS", "sure"),
                ],
                "ALLOW_UNSIGNED_WEBHOOKS",
            ),
            (
                &[
                    ("SESSION_SECRET", SECRET),
                    ("WEBHOOK_BASE_URL", "abc.ngrok.app"),
                ],
                "WEBHOOK_BASE_URL",
            ),
            (
                &[
                    ("SESSION_SECRET", SECRET),
                    ("WEBHOOK_BASE_URL", "https://abc.ngrok.app/#x"),
                ],
                "WEBHOOK_BASE_URL",
            ),
            (
                &[("SESSION_SECRET", SECRET), ("REPLY_NEXT", "Hi {nmae}")],
                "REPLY_NEXT",
            ),
        ];
        for (vars, variable) in cases {
            let err = config(vars).unwrap_err();
            assert_eq!(err.variable, *variable, "{vars:?}");
            assert!(err.to_string().starts_with(variable));
        }
    }

    #[test]
    fn errors_and_debug_output_never_show_secret_values() {
        let secret = "a-secret-that-is-far-too-short";
        let err = config(&[("SESSION_SECRET", secret)]).unwrap_err();
        assert!(!err.to_string().contains(secret));
        let c = config(&[
            ("SESSION_SECRET", SECRET),
            ("TWILIO_AUTH_TOKEN", "tok-en-value"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("tok-en-value"));
        assert!(!debug.contains(SECRET));
    }

    #[test]
    fn webhook_base_url_loses_its_trailing_slash() {
        let c = config(&[
            ("SESSION_SECRET", SECRET),
            ("WEBHOOK_BASE_URL", "https://abc.ngrok.app/"),
        ])
        .unwrap();
        assert_eq!(c.webhook_base_url.as_deref(), Some("https://abc.ngrok.app"));
    }
}
