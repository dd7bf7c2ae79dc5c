//! The array filters. A filter meant for arrays leaves any other value as it is, except
//! `first`, `last`, `size` and `slice`, which read a string's characters too.

use std::cmp::Ordering;

use serde_json::Value;

use super::super::value::{as_number, as_strict_number, equal, member, text, truthy};
use super::args::arg;

/// An array filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum List {
    Join,
    First,
    Last,
    Size,
    Slice,
    Reverse,
    Sort,
    Uniq,
    Compact,
    Map,
    Where,
}

pub(super) fn apply(f: List, value: Value, args: &[Value]) -> Value {
    match f {
        List::Join => join(value, args),
        List::First => first(&value),
        List::Last => last(&value),
        List::Size => size(&value),
        List::Slice => slice(value, args),
        List::Reverse => in_place(value, |items| items.reverse()),
        List::Sort => in_place(value, |items| sort(items)),
        List::Uniq => in_place(value, uniq),
        List::Compact => in_place(value, |items| items.retain(|i| !i.is_null())),
        List::Map => map(value, &arg(args, 0)),
        List::Where => filter_where(value, args),
    }
}

/// The items' text between `args[0]` (a space when no argument is given).
fn join(value: Value, args: &[Value]) -> Value {
    let Value::Array(items) = value else {
        return value;
    };
    let sep = separator(args);
    Value::String(items.iter().map(text).collect::<Vec<_>>().join(&sep))
}

/// `join`'s separator: `args[0]`, a space when no argument is given.
fn separator(args: &[Value]) -> String {
    if args.is_empty() {
        return " ".to_string();
    }
    arg(args, 0)
}

fn first(value: &Value) -> Value {
    match value {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        Value::String(t) => t.chars().next().map_or(Value::Null, char_value),
        _ => Value::Null,
    }
}

fn last(value: &Value) -> Value {
    match value {
        Value::Array(items) => items.last().cloned().unwrap_or(Value::Null),
        Value::String(t) => t.chars().last().map_or(Value::Null, char_value),
        _ => Value::Null,
    }
}

fn char_value(c: char) -> Value {
    Value::String(c.to_string())
}

/// Items, members or characters; 0 for anything else.
fn size(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::from(items.len()),
        Value::Object(map) => Value::from(map.len()),
        Value::String(t) => Value::from(t.chars().count()),
        _ => Value::from(0),
    }
}

/// `args[1]` items (1 by default) from `args[0]` (negative: from the end), of an array or
/// of the value's text.
fn slice(value: Value, args: &[Value]) -> Value {
    let start = args.first().and_then(as_number).unwrap_or(0.0) as i64;
    let len = args.get(1).and_then(as_number).unwrap_or(1.0).max(0.0) as usize;
    match value {
        Value::Array(items) => {
            let (from, len) = span(start, len, items.len());
            Value::Array(items[from..from + len].to_vec())
        }
        other => {
            let chars: Vec<char> = text(&other).chars().collect();
            let (from, len) = span(start, len, chars.len());
            Value::String(chars[from..from + len].iter().collect())
        }
    }
}

/// Where a slice of `n` things starts and how long it is, kept within them.
fn span(start: i64, len: usize, n: usize) -> (usize, usize) {
    let from = if start < 0 {
        (n as i64 + start).max(0) as usize
    } else {
        (start as usize).min(n)
    };
    (from, len.min(n - from))
}

/// An array changed by `change`; any other value as it is.
fn in_place(value: Value, change: fn(&mut Vec<Value>)) -> Value {
    match value {
        Value::Array(mut items) => {
            change(&mut items);
            Value::Array(items)
        }
        other => other,
    }
}

/// Numbers first, by value, then anything else by its text. Numbers and the rest never
/// compare with each other, so the order is total over any mix (Rust's sort panics on one
/// that is not, and a filter never panics); an array of numbers alone, or of strings alone,
/// sorts as it always did.
fn sort(items: &mut [Value]) {
    items.sort_by(|a, b| match (as_strict_number(a), as_strict_number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => text(a).cmp(&text(b)),
    });
}

/// The first of equal items (`1` and `1.0` differ here).
fn uniq(items: &mut Vec<Value>) {
    let mut seen: Vec<Value> = Vec::new();
    items.retain(|i| {
        let new = !seen.contains(i);
        if new {
            seen.push(i.clone());
        }
        new
    });
}

/// Each item's member `key`; of a non-array, its own member.
fn map(value: Value, key: &str) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|i| member(i, key)).collect()),
        other => member(&other, key),
    }
}

/// The items whose member `args[0]` equals `args[1]`, or is truthy when no `args[1]`.
fn filter_where(value: Value, args: &[Value]) -> Value {
    let Value::Array(items) = value else {
        return value;
    };
    let key = arg(args, 0);
    let wanted = args.get(1);
    let kept = items.into_iter().filter(|i| wanted_member(i, &key, wanted));
    Value::Array(kept.collect())
}

/// Whether `item`'s member `key` equals `wanted`, or is truthy when nothing is wanted.
fn wanted_member(item: &Value, key: &str, wanted: Option<&Value>) -> bool {
    let v = member(item, key);
    wanted.map_or_else(|| truthy(&v), |w| equal(&v, w))
}
