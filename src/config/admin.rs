//! The state API's key (`ADMIN_API_KEY`) and the account it works on.

#[cfg(state_api)]
use std::fmt;

#[cfg(state_api)]
use crate::vars::{ConfigError, Vars};

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
pub(super) fn admin(vars: &Vars<'_>) -> Result<Option<Admin>, ConfigError> {
    let Some(key) = vars.get("ADMIN_API_KEY") else {
        return Ok(None);
    };
    if key.len() < MIN_ADMIN_KEY_BYTES {
        return Err(short_admin_key());
    }
    Ok(Some(Admin {
        key,
        account_sid: vars.get("TWILIO_ACCOUNT_SID"),
    }))
}

/// An `ADMIN_API_KEY` too short to guard every pair's state, and how to make one.
#[cfg(state_api)]
fn short_admin_key() -> ConfigError {
    ConfigError::new(
        "ADMIN_API_KEY",
        format!(
            "must be at least {MIN_ADMIN_KEY_BYTES} bytes (`npm run --silent secret` makes one)"
        ),
    )
}
