//! Studio's JSON for a flow and its widgets, as read from the file: what [`super::parse`]
//! checks a flow with, [`super::widgets`] reads each kind's properties from, and
//! [`super::reads`] scans. A file of its own so that those three share it without importing
//! one another.
//!
//! Read by walking the `Value` serde_json parses, not with serde's derive: the derive's
//! visitors are generic code instantiated for these types alone (about 20 KB of the wasm),
//! where a `Value` is read with code the worker has anyway. The rules are the derive's:
//! `name`, `type`, `event` and `states` are required, the other fields default when missing
//! (`null` too for `next`, `initial_state` and a condition's `value`), and fields this
//! runtime does not read are ignored.

use serde_json::{Map, Value};

/// A whole flow: its widgets and where it starts.
pub(super) struct Definition {
    pub(super) states: Vec<RawState>,
    pub(super) initial_state: Option<String>,
}

/// One widget: its name, type, transitions and properties (kept as JSON: each kind reads
/// its own).
pub(super) struct RawState {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) transitions: Vec<RawTransition>,
    pub(super) properties: Map<String, Value>,
}

/// One transition: the event, where it goes, and a split's conditions.
pub(super) struct RawTransition {
    pub(super) event: String,
    next: Option<String>,
    pub(super) conditions: Vec<RawCondition>,
}

/// One condition of a split's `match` transition, before its type is checked.
pub(super) struct RawCondition {
    pub(super) kind: String,
    pub(super) arguments: Vec<String>,
    pub(super) value: Value,
}

impl Definition {
    /// Reads a flow's JSON text; the problem (bad JSON, a missing or mistyped field) when it
    /// is not a flow definition.
    pub(super) fn read(json: &str) -> Result<Definition, String> {
        let value: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut fields = Fields::of(value)?;
        let Some(states) = fields.take("states") else {
            return Err(missing("states"));
        };
        Ok(Definition {
            states: each(array(states, "states")?, RawState::read)?,
            initial_state: fields.optional_string("initial_state")?,
        })
    }
}

impl RawState {
    fn read(value: Value) -> Result<RawState, String> {
        let mut fields = Fields::of(value)?;
        let properties = match fields.take("properties") {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => return Err(invalid("properties", &other, "an object")),
        };
        Ok(RawState {
            name: fields.string("name")?,
            kind: fields.string("type")?,
            transitions: each(fields.array("transitions")?, RawTransition::read)?,
            properties,
        })
    }
}

impl RawTransition {
    fn read(value: Value) -> Result<RawTransition, String> {
        let mut fields = Fields::of(value)?;
        Ok(RawTransition {
            event: fields.string("event")?,
            next: fields.optional_string("next")?,
            conditions: each(fields.array("conditions")?, RawCondition::read)?,
        })
    }

    /// Where it goes: Studio writes an empty `next` for "nowhere" as often as none.
    pub(super) fn next(&self) -> Option<&str> {
        self.next.as_deref().filter(|n| !n.is_empty())
    }
}

impl RawCondition {
    fn read(value: Value) -> Result<RawCondition, String> {
        let mut fields = Fields::of(value)?;
        let argument = |v: Value| text(v, "arguments");
        Ok(RawCondition {
            kind: fields.string("type")?,
            arguments: each(fields.array("arguments")?, argument)?,
            value: fields.take("value").unwrap_or(Value::Null),
        })
    }
}

/// An object's fields, taken out one by one.
struct Fields(Map<String, Value>);

impl Fields {
    fn of(value: Value) -> Result<Fields, String> {
        match value {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(format!(
                "invalid type: {}, expected an object",
                kind(&other)
            )),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    /// A required string field.
    fn string(&mut self, key: &str) -> Result<String, String> {
        let value = self.take(key).ok_or_else(|| missing(key))?;
        text(value, key)
    }

    /// A string field that may be missing or `null`.
    fn optional_string(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => text(value, key).map(Some),
        }
    }

    /// An array field that may be missing (none then).
    fn array(&mut self, key: &str) -> Result<Vec<Value>, String> {
        self.take(key).map_or(Ok(Vec::new()), |v| array(v, key))
    }
}

fn text(value: Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(invalid(key, &other, "a string")),
    }
}

fn array(value: Value, key: &str) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(invalid(key, &other, "an array")),
    }
}

/// Each item read by `read`, or the first problem.
fn each<T>(items: Vec<Value>, read: impl Fn(Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    let mut all = Vec::with_capacity(items.len());
    for item in items {
        all.push(read(item)?);
    }
    Ok(all)
}

fn missing(key: &str) -> String {
    format!("missing field `{key}`")
}

fn invalid(key: &str, value: &Value, expected: &str) -> String {
    format!(
        "invalid type for `{key}`: {}, expected {expected}",
        kind(value)
    )
}

/// What a JSON value is, for a problem's text.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
