//! Saved states: starting the test phone from one ([`super::TestPhone::from_state`]), and
//! checking that every state a conversation ever saved still reads under its current
//! [`Conversation::STATE_VERSION`] ([`check_saved_states`]), so that a deploy never restarts
//! live conversations by accident.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::conversation::{Conversation, SavedState};
use crate::vars::ConfigError;

/// Why a saved state cannot start a test phone or would not survive a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SavedStateError {
    /// Not JSON, or not a state's shape (a `state_version` that is no number, …).
    NotJson(String),
    /// Neither [`Conversation::upgrade`] nor the current state type reads it: the worker
    /// would start this conversation afresh.
    DoesNotRead {
        /// The conversation's name.
        conversation: &'static str,
        /// The version it was saved under.
        version: u32,
        /// The conversation's current [`Conversation::STATE_VERSION`].
        current: u32,
        /// Why the current type does not read it (serde's words).
        why: String,
    },
    /// The phone's settings are refused, as the worker would refuse them.
    Config(ConfigError),
    /// The record does not fit in a cookie (the seal's error, when one failed).
    NoCookie(Option<String>),
}

impl std::fmt::Display for SavedStateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SavedStateError::NotJson(why) => write!(f, "not a saved state: {why}"),
            SavedStateError::DoesNotRead {
                conversation,
                version,
                current,
                why,
            } => write!(
                f,
                "{conversation}'s state version {version} neither upgrades nor reads under \
                 STATE_VERSION {current} ({why}): the worker would start it afresh"
            ),
            SavedStateError::Config(e) => write!(f, "{e}"),
            SavedStateError::NoCookie(why) => {
                f.write_str("the state does not fit in a cookie")?;
                match why {
                    Some(why) => write!(f, " ({why})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for SavedStateError {}

impl From<ConfigError> for SavedStateError {
    fn from(e: ConfigError) -> Self {
        SavedStateError::Config(e)
    }
}

/// A saved state file that fails [`check_saved_states`], or the directory that holds none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCheckError {
    /// The file (or the directory).
    pub path: PathBuf,
    /// What is wrong with it.
    pub why: String,
}

impl std::fmt::Display for StateCheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.why)
    }
}

impl std::error::Error for StateCheckError {}

/// A saved state as read: the state as the record stores it, and the count that came with it.
pub(super) struct Snapshot {
    pub(super) state: SavedState,
    pub(super) count: u64,
}

/// Reads `json` as a saved state of `C`: a bare state (at `version`, else the current
/// version), or an object with `state` and `state_version` (a state file, the state API's
/// answer), and checks that `C` reads it as the worker would.
pub(super) fn parse<C: Conversation>(
    json: &str,
    version: Option<u32>,
) -> Result<Snapshot, SavedStateError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| SavedStateError::NotJson(e.to_string()))?;
    let (state, version, count) = match value {
        Value::Object(fields) if fields.contains_key("state_version") => versioned(fields)?,
        bare => (bare, version.unwrap_or(C::STATE_VERSION), 0),
    };
    let state = SavedState {
        version,
        json: state_json(state),
    };
    reads::<C>(&state)?;
    Ok(Snapshot { state, count })
}

/// The state, version and count of a state file or of the state API's answer (its other
/// fields ignored).
fn versioned(mut fields: Map<String, Value>) -> Result<(Value, u32, u64), SavedStateError> {
    let version = number(fields.remove("state_version"), "state_version")?
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| SavedStateError::NotJson("state_version is too large".into()))?;
    let count = number(fields.remove("count"), "count")?.unwrap_or(0);
    let state = fields.remove("state").unwrap_or(Value::Null);
    Ok((state, version, count))
}

/// Field `name`, a number when present: a saved state's `state_version` or `count`.
fn number(field: Option<Value>, name: &str) -> Result<Option<u64>, SavedStateError> {
    match field {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| SavedStateError::NotJson(format!("{name} is not a number"))),
    }
}

/// The state's JSON as the record keeps it: `null` is how a state at its default shows, and
/// the record stores no JSON for it.
fn state_json(state: Value) -> String {
    match state {
        Value::Null => String::new(),
        state => state.to_string(),
    }
}

/// Whether `C` reads `state` as the worker would (upgraded when older), or why not: serde's
/// words for the current type are the ones that help.
fn reads<C: Conversation>(state: &SavedState) -> Result<(), SavedStateError> {
    if state.try_load::<C>().is_some() {
        return Ok(());
    }
    let why = serde_json::from_str::<C::State>(&state.json)
        .err()
        .map_or_else(String::new, |e| e.to_string());
    Err(SavedStateError::DoesNotRead {
        conversation: C::NAME,
        version: state.version,
        current: C::STATE_VERSION,
        why,
    })
}

/// Checks every saved state in `dir` (each `*.json` a `{"state_version": N, "state": …}`, or
/// a bare state at the current version): each must still read, or upgrade, under `C`'s
/// current [`Conversation::STATE_VERSION`]. Keep a few states from each released version
/// there, and a change to the state type that would restart live conversations fails a test
/// instead of a deploy. The number of states checked.
///
/// ```
/// use sms_conversation_worker::conversations::Survey;
/// use sms_conversation_worker::harness::check_saved_states;
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/states/survey");
/// assert!(check_saved_states::<Survey>(dir).unwrap() >= 1);
/// ```
///
/// # Errors
/// The first file that does not read, or is no saved state, named; a directory that cannot
/// be read or holds no `*.json`.
pub fn check_saved_states<C: Conversation>(
    dir: impl AsRef<Path>,
) -> Result<usize, StateCheckError> {
    let dir = dir.as_ref();
    let fail = |path: &Path, why: String| StateCheckError {
        path: path.to_path_buf(),
        why,
    };
    let files = json_files(dir).map_err(|e| fail(dir, e.to_string()))?;
    if files.is_empty() {
        return Err(fail(dir, "holds no saved state (*.json)".into()));
    }
    for file in &files {
        let json = std::fs::read_to_string(file).map_err(|e| fail(file, e.to_string()))?;
        parse::<C>(&json, None).map_err(|e| fail(file, e.to_string()))?;
    }
    Ok(files.len())
}

/// The `*.json` files directly in `dir`, sorted.
fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
