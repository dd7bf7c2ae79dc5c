//! The conversations this worker ships, and the `CONVERSATION` var that picks one.
//!
//! To add your own: write a type implementing [`crate::conversation::Conversation`] in a
//! module here, and give it a name in [`select`] (or make it the default).

pub mod counter;
pub mod survey;
pub mod template;

pub use counter::Counter;
pub use survey::Survey;

use crate::conversation::{Conversation, Converse};
use crate::vars::{ConfigError, Vars};

/// The names `CONVERSATION` accepts; the first is the default.
pub const NAMES: &[&str] = &["counter", "survey"];

/// The conversation `CONVERSATION` names (`counter` when unset), built from its settings.
pub fn select(vars: &Vars<'_>) -> Result<Box<dyn Converse>, ConfigError> {
    fn build<C: Conversation>(vars: &Vars<'_>) -> Result<Box<dyn Converse>, ConfigError> {
        Ok(Box::new(C::new(vars)?))
    }
    match vars.get("CONVERSATION").as_deref() {
        None | Some("counter") => build::<Counter>(vars),
        Some("survey") => build::<Survey>(vars),
        Some(_) => Err(ConfigError::new(
            "CONVERSATION",
            format!("must be one of {}", NAMES.join(", ")),
        )),
    }
}
