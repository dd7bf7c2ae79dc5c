//! The conversations a worker runs, each registered once, by its type, in
//! [`crate::worker!`]: the var `CONVERSATION` picks one by [`Conversation::NAME`], and the
//! dev phone's inspector decodes a cookie's state with the conversation of that name.

#[cfg(not(target_arch = "wasm32"))]
use crate::conversation::SavedState;
use crate::conversation::{Conversation, Converse};
use crate::vars::{ConfigError, Vars};

/// One registered conversation: its name and how the isolate builds it from its vars.
///
/// ```
/// use sms_conversation_worker::conversations::Counter;
/// use sms_conversation_worker::prelude::*;
///
/// let counter = Registered::of::<Counter>();
/// assert_eq!(counter.name(), "counter");
/// // Built from its vars as the isolate would; a bad setting is the conversation's ConfigError.
/// let lookup = |_: &str| None;
/// assert!(counter.build(&Vars::new(&lookup)).is_ok());
/// ```
#[derive(Clone, Copy)]
pub struct Registered {
    name: &'static str,
    build: fn(&Vars<'_>) -> Result<Box<dyn Converse>, ConfigError>,
    /// Only the native inspector reads states for people: not in the wasm.
    #[cfg(not(target_arch = "wasm32"))]
    describe: fn(&SavedState) -> serde_json::Value,
}

impl Registered {
    /// `C`, under its [`Conversation::NAME`].
    pub const fn of<C: Conversation>() -> Self {
        Registered {
            name: C::NAME,
            build: build::<C>,
            #[cfg(not(target_arch = "wasm32"))]
            describe: describe::<C>,
        }
    }

    /// The name `CONVERSATION` picks it by.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Builds the conversation from `vars`.
    pub fn build(&self, vars: &Vars<'_>) -> Result<Box<dyn Converse>, ConfigError> {
        (self.build)(vars)
    }

    /// A stored state as JSON, read (and upgraded) as the conversation reads it: for
    /// people, the dev phone's inspector.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn describe(&self, saved: &SavedState) -> serde_json::Value {
        (self.describe)(saved)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn describe<C: Conversation>(saved: &SavedState) -> serde_json::Value {
    serde_json::to_value(saved.load::<C>()).unwrap_or_default()
}

fn build<C: Conversation>(vars: &Vars<'_>) -> Result<Box<dyn Converse>, ConfigError> {
    Ok(Box::new(C::new(vars)?))
}

/// The conversations of one worker, the first of them the default.
///
/// Built by [`crate::worker!`] (or by hand, for a test), checked when the crate compiles: a
/// list that is empty, repeats a name, or has a name `CONVERSATION` could not hold is a
/// compile error.
///
/// ```
/// use sms_conversation_worker::conversations::{Counter, Survey};
/// use sms_conversation_worker::registry::{Conversations, Registered};
///
/// static MINE: Conversations = Conversations::new(&[Registered::of::<Counter>(), Registered::of::<Survey>()]);
/// assert_eq!(MINE.names().collect::<Vec<_>>(), ["counter", "survey"]);
/// ```
#[derive(Clone, Copy)]
pub struct Conversations {
    entries: &'static [Registered],
}

impl Conversations {
    /// The registry of `entries`.
    ///
    /// # Panics
    /// At compile time in a `static` (at run time otherwise) when `entries` is empty, two
    /// share a name, or a name is empty or has other characters than `a-z`, `0-9`, `-`, `_`.
    pub const fn new(entries: &'static [Registered]) -> Self {
        assert!(
            !entries.is_empty(),
            "a worker registers at least one conversation"
        );
        let mut i = 0;
        while i < entries.len() {
            assert!(
                valid_name(entries[i].name),
                "a conversation's NAME is lowercase letters, digits, '-' and '_'"
            );
            let mut j = i + 1;
            while j < entries.len() {
                assert!(
                    !same(entries[i].name, entries[j].name),
                    "two registered conversations share a NAME"
                );
                j += 1;
            }
            i += 1;
        }
        Conversations { entries }
    }

    /// The names, the default first.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|e| e.name)
    }

    /// The conversation `CONVERSATION` names (the first registered when unset), built from
    /// its settings.
    pub fn select(&self, vars: &Vars<'_>) -> Result<Box<dyn Converse>, ConfigError> {
        let wanted = vars.get("CONVERSATION");
        match self.find(wanted.as_deref()) {
            Some(entry) => entry.build(vars),
            None => Err(ConfigError::new(
                "CONVERSATION",
                format!(
                    "must be one of {}",
                    self.names().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The registered conversation called `name` (the default for `None`).
    pub fn find(&self, name: Option<&str>) -> Option<&'static Registered> {
        match name {
            None => self.entries.first(),
            Some(name) => self.entries.iter().find(|e| e.name == name),
        }
    }
}

const fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
