//! Studio's JSON for one widget, as serde reads it: what [`super::parse`] checks a flow
//! with, [`super::widgets`] reads each kind's properties from, and [`super::reads`] scans.
//! A file of its own so that those three share it without importing one another.

use serde::Deserialize;
use serde_json::Value;

/// One widget: its name, type, transitions and properties (kept as JSON: each kind reads
/// its own).
#[derive(Deserialize)]
pub(super) struct RawState {
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) transitions: Vec<RawTransition>,
    #[serde(default)]
    pub(super) properties: serde_json::Map<String, Value>,
}

/// One transition: the event, where it goes, and a split's conditions.
#[derive(Deserialize)]
pub(super) struct RawTransition {
    pub(super) event: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    pub(super) conditions: Vec<RawCondition>,
}

/// One condition of a split's `match` transition, before its type is checked.
#[derive(Deserialize)]
pub(super) struct RawCondition {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) arguments: Vec<String>,
    #[serde(default)]
    pub(super) value: Value,
}

impl RawTransition {
    /// Where it goes: Studio writes an empty `next` for "nowhere" as often as none.
    pub(super) fn next(&self) -> Option<&str> {
        self.next.as_deref().filter(|n| !n.is_empty())
    }
}
