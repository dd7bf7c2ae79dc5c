//! `REPLY_BUDGET_SECONDS`: how long a webhook's answer may take, from the webhook's arrival.

use crate::vars::{ConfigError, Vars};

/// The default budget: well inside the 15 s Twilio waits, with room for the answer's trip.
pub const DEFAULT_REPLY_BUDGET_SECONDS: u64 = 10;

/// The longest budget allowed: Twilio stops waiting at 15 s (error 11200), and the worker
/// needs the last second to answer.
pub const MAX_REPLY_BUDGET_SECONDS: u64 = 14;

/// `REPLY_BUDGET_SECONDS`, from 1 to [`MAX_REPLY_BUDGET_SECONDS`].
pub(super) fn reply_budget(vars: &Vars<'_>) -> Result<u64, ConfigError> {
    let range = 1..=MAX_REPLY_BUDGET_SECONDS;
    vars.number(
        "REPLY_BUDGET_SECONDS",
        DEFAULT_REPLY_BUDGET_SECONDS,
        range,
        "of seconds",
    )
}
