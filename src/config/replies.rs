//! What the worker answers by itself, before or around the conversation: the reset keyword
//! and the smart encoding of replies.

use crate::vars::{ConfigError, Vars};

/// The keyword that makes the worker forget a conversation.
pub const DEFAULT_RESET_KEYWORD: &str = "RESET";

/// `SMART_ENCODING` (default off); on needs the `smart-encoding` feature.
pub(super) fn smart_encoding(vars: &Vars<'_>) -> Result<bool, ConfigError> {
    let on = vars.flag("SMART_ENCODING", false)?;
    if on && !cfg!(feature = "smart-encoding") {
        return Err(not_built_with_smart_encoding());
    }
    Ok(on)
}

/// `SMART_ENCODING=true` in a build without the feature, and where to turn it on.
fn not_built_with_smart_encoding() -> ConfigError {
    ConfigError::new(
        "SMART_ENCODING",
        "needs the smart-encoding feature of sms-conversation-worker (Cargo.toml)",
    )
}
