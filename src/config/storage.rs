//! How records are sealed and kept: the session secret, the TTLs, history and encryption.

use crate::record::HistoryLimits;
use crate::seal::SessionKeys;
use crate::storage::{Settings, TWILIO_COOKIE_SECONDS};
use crate::vars::{ConfigError, Vars};

/// Twilio drops a pair's cookies after 4 hours without a message: the default idle limit,
/// and the longest one the cookie alone can keep.
pub const DEFAULT_TTL_SECONDS: u64 = TWILIO_COOKIE_SECONDS;
/// The longest idle limit, kept by KV or the objects: a Studio execution ends after 30 days,
/// so no flow waits longer.
pub const MAX_TTL_SECONDS: u64 = 30 * 24 * 60 * 60;
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

/// How records are sealed and kept: `SESSION_SECRET`, the TTLs, history and encryption.
pub(super) fn storage_settings(vars: &Vars<'_>) -> Result<Settings, ConfigError> {
    // In this order, so that the first bad value named is the same as ever.
    let keys = session_keys(vars)?;
    let conversation_ttl_seconds = conversation_ttl_seconds(vars)?;
    let history = history_limits(vars)?;
    Ok(Settings {
        keys,
        conversation_ttl_seconds,
        kv_ttl_seconds: kv_ttl_seconds(vars, conversation_ttl_seconds)?,
        encrypt: vars.flag("ENCRYPT_STATE", history.turns > 0)?,
        history,
    })
}

/// `SESSION_SECRET`: required, since every record is sealed with it.
fn session_keys(vars: &Vars<'_>) -> Result<SessionKeys, ConfigError> {
    match vars.get("SESSION_SECRET") {
        Some(secrets) => SessionKeys::from_secrets(&secrets),
        None => Err(no_session_secret()),
    }
}

/// No `SESSION_SECRET`, and how to make one.
fn no_session_secret() -> ConfigError {
    ConfigError::new(
        "SESSION_SECRET",
        "is not set (generate one with `npm run --silent secret`)",
    )
}

/// `CONVERSATION_TTL_SECONDS`, up to 30 days in a worker that can bind a store (whether one
/// is bound is known only with the bindings: [`check_stores`]), up to 4 hours in one that
/// cannot.
fn conversation_ttl_seconds(vars: &Vars<'_>) -> Result<u64, ConfigError> {
    vars.number(
        "CONVERSATION_TTL_SECONDS",
        DEFAULT_TTL_SECONDS,
        60..=MAX_TTL_SECONDS_BUILT,
        "of seconds",
    )
    .map_err(capped)
}

/// The longest `CONVERSATION_TTL_SECONDS` this build can keep: with neither the `kv` nor the
/// `objects` feature nothing outlives the cookie.
const MAX_TTL_SECONDS_BUILT: u64 = if cfg!(any(feature = "kv", feature = "objects")) {
    MAX_TTL_SECONDS
} else {
    DEFAULT_TTL_SECONDS
};

/// A bad `CONVERSATION_TTL_SECONDS`'s problem, and why it cannot be longer in this build.
fn capped(e: ConfigError) -> ConfigError {
    let problem = if cfg!(any(feature = "kv", feature = "objects")) {
        format!(
            "{} (Twilio keeps cookies 4 hours; KV or the objects keep conversations up to 30 days)",
            e.problem
        )
    } else {
        format!("{} (Twilio keeps cookies 4 hours at most)", e.problem)
    };
    ConfigError::new(e.variable, problem)
}

/// Refuses an idle limit over the 4 hours Twilio keeps a cookie when no store (`kv`, the
/// `CONVERSATIONS` namespace; `objects`, `CONVERSATION_OBJECTS`) keeps the conversation
/// longer: it would end at 4 hours whatever the setting says.
pub(super) fn check_stores(
    settings: &Settings,
    kv: bool,
    objects: bool,
) -> Result<(), ConfigError> {
    // Without the features the value was capped when parsed, and the message is not built.
    let storeless = cfg!(any(feature = "kv", feature = "objects")) && !kv && !objects;
    if !storeless || settings.conversation_ttl_seconds <= DEFAULT_TTL_SECONDS {
        return Ok(());
    }
    Err(ConfigError::new(
        "CONVERSATION_TTL_SECONDS",
        "is over 14400 (Twilio keeps cookies 4 hours): bind CONVERSATIONS (KV) or \
         CONVERSATION_OBJECTS to keep conversations longer",
    ))
}

/// `KV_TTL_SECONDS`, within what Workers KV accepts (a year at most, by choice), and never
/// shorter than the conversation's idle limit `ttl`: the store keeps a conversation at least
/// as long as it may go on.
fn kv_ttl_seconds(vars: &Vars<'_>, ttl: u64) -> Result<u64, ConfigError> {
    let seconds = vars.number(
        "KV_TTL_SECONDS",
        DEFAULT_KV_TTL_SECONDS,
        MIN_KV_TTL_SECONDS..=365 * 24 * 60 * 60,
        "of seconds (KV's minimum is 60)",
    )?;
    // Without a store nothing is kept there: the setting is only checked.
    Ok(if cfg!(any(feature = "kv", feature = "objects")) {
        seconds.max(ttl)
    } else {
        seconds
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
