//! Values are serde_json's: what Liquid reads of them (a member, truthiness, emptiness,
//! equality and order, a number) and how they print.

use serde_json::{Map, Number, Value};

/// A comparison operator (`!=` and `<>` are the same one). It lives with the values, not in
/// the tree that holds it, because [`order`] applies it: values stay below the tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Contains,
}

/// `value.key`: an object's member, and the `size`, `first` and `last` Liquid adds.
pub(super) fn member(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => object_member(map, key),
        Value::Array(items) => array_member(items, key),
        Value::String(s) if key == "size" => Value::from(s.chars().count()),
        _ => Value::Null,
    }
}

/// An object's member `key`, else its `size`; nil for any other name.
fn object_member(map: &Map<String, Value>, key: &str) -> Value {
    let size = || (key == "size").then(|| Value::from(map.len()));
    map.get(key).cloned().or_else(size).unwrap_or(Value::Null)
}

/// An array's `size`, `first`, `last`, or the item a number names (`items.0`).
fn array_member(items: &[Value], key: &str) -> Value {
    match key {
        "size" => Value::from(items.len()),
        "first" => items.first().cloned().unwrap_or(Value::Null),
        "last" => items.last().cloned().unwrap_or(Value::Null),
        k => k.parse::<i64>().map_or(Value::Null, |i| item_at(items, i)),
    }
}

/// `value[i]`: negative indexes count from the end.
pub(super) fn index(value: &Value, i: i64) -> Value {
    match value {
        Value::Array(items) => item_at(items, i),
        Value::Object(map) => map.get(&i.to_string()).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// `items[i]`, a negative `i` counting from the end; nil past either end.
fn item_at(items: &[Value], i: i64) -> Value {
    let at = if i < 0 { items.len() as i64 + i } else { i };
    let item = usize::try_from(at).ok().and_then(|at| items.get(at));
    item.cloned().unwrap_or(Value::Null)
}

/// What a `for` runs over: an array's items, an object's `[key, value]` pairs, a non-empty
/// string once.
pub(super) fn iterable(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| Value::Array(vec![Value::String(k), v]))
            .collect(),
        Value::String(s) if !s.is_empty() => vec![Value::String(s)],
        _ => Vec::new(),
    }
}

/// Only `false` and nil are falsy (an empty string and 0 are true), as in Liquid.
pub(super) fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

/// What `== empty` holds for.
pub(super) fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// What `== blank` holds for: empty, nil, false or only whitespace.
pub(super) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.trim().is_empty(),
        other => is_empty(other),
    }
}

/// Equality, with `1 == 1.0`.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `contains`: a substring of a string, or an item of an array.
pub(super) fn contains(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::String(s), r) => s.contains(&text(r)),
        (Value::Array(items), r) => items.iter().any(|i| equal(i, r)),
        _ => false,
    }
}

/// `<`, `>`, `<=`, `>=`: numbers with numbers and strings with strings; anything else is
/// false.
pub(super) fn order(op: Op, l: &Value, r: &Value) -> bool {
    match (as_strict_number(l), as_strict_number(r)) {
        (Some(a), Some(b)) => holds(op, a, b),
        _ => match (l, r) {
            (Value::String(a), Value::String(b)) => holds(op, a, b),
            _ => false,
        },
    }
}

fn holds<T: PartialOrd>(op: Op, a: T, b: T) -> bool {
    match op {
        Op::Lt => a < b,
        Op::Gt => a > b,
        Op::Le => a <= b,
        _ => a >= b,
    }
}

/// The text of a value as an output prints it.
pub(super) fn text(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Prints `value`: nil as nothing, an array as its items run together, an object as JSON.
pub(super) fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::Array(items) => items.iter().for_each(|i| write_value(i, out)),
        Value::Object(_) => out.push_str(&value.to_string()),
    }
}

/// A whole float keeps its `.0`, as Ruby prints it.
fn number_text(n: &Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
        _ => n.to_string(),
    }
}

/// A number from a number or a numeric string (filters convert, as Liquid's do).
pub(super) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Comparisons do not convert: a string and a number do not compare (Liquid's rule).
pub(super) fn as_strict_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// An integer or a string of one: math on two of them stays integer.
pub(super) fn integer_like(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::String(s) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    }
}

/// A math result as a value: nil when not finite, an integer when `integers`.
pub(super) fn number_value(f: f64, integers: bool) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    if integers && f.abs() < 9.0e15 {
        return Value::from(f as i64);
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
pub(super) fn truncate_at(text: &mut String, max: usize) {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
}
