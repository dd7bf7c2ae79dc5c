//! The filters of no family: `default` and `json`.

use serde_json::Value;

use super::super::value::is_blank;

/// `args[0]` in place of nil, false (unless `allow_false: true`, `args[1]`) or a blank
/// string, array or object.
pub(super) fn default(value: Value, args: &[Value]) -> Value {
    let allow_false = args.get(1) == Some(&Value::Bool(true));
    let use_default = match &value {
        Value::Bool(false) => !allow_false,
        other => {
            is_blank(other) && !matches!(other, Value::Bool(_)) || matches!(other, Value::Null)
        }
    };
    if use_default {
        args.first().cloned().unwrap_or(Value::Null)
    } else {
        value
    }
}

/// The value as JSON text, for a request body or a debugging reply.
pub(super) fn json(value: &Value) -> Value {
    Value::String(value.to_string())
}
