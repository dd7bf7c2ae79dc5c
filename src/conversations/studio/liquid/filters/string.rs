//! The string filters: case, whitespace, HTML escaping, editing, truncating, splitting.

use serde_json::Value;

use super::super::value::{as_number, text};
use super::args::arg;

/// A string filter: each reads its input as text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Text {
    Upcase,
    Downcase,
    Capitalize,
    Strip,
    Lstrip,
    Rstrip,
    StripNewlines,
    NewlineToBr,
    Escape,
    Append,
    Prepend,
    Replace,
    ReplaceFirst,
    Remove,
    RemoveFirst,
    Truncate,
    Truncatewords,
    Split,
}

pub(super) fn apply(f: Text, value: &Value, args: &[Value]) -> Value {
    let s = text(value);
    let arg = |i| arg(args, i);
    Value::String(match f {
        Text::Upcase => s.to_uppercase(),
        Text::Downcase => s.to_lowercase(),
        Text::Capitalize => capitalize(&s),
        Text::Strip => s.trim().to_string(),
        Text::Lstrip => s.trim_start().to_string(),
        Text::Rstrip => s.trim_end().to_string(),
        Text::StripNewlines => s.replace(['\r', '\n'], ""),
        Text::NewlineToBr => s.replace('\n', "<br />\n"),
        Text::Escape => escape(&s),
        Text::Append => s + &arg(0),
        Text::Prepend => arg(0) + &s,
        Text::Replace => s.replace(&arg(0), &arg(1)),
        Text::ReplaceFirst => s.replacen(&arg(0), &arg(1), 1),
        Text::Remove => s.replace(&arg(0), ""),
        Text::RemoveFirst => s.replacen(&arg(0), "", 1),
        Text::Truncate => truncate(s, args),
        Text::Truncatewords => truncatewords(s, args),
        Text::Split => return split(&s, &arg(0)),
    })
}

/// The first character upper case, the rest lower case (Ruby's `capitalize`).
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// HTML's five special characters as entities.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// At most `args[0]` characters (50 by default) counting the ellipsis `args[1]` ("...").
fn truncate(s: String, args: &[Value]) -> String {
    let max = args.first().and_then(as_number).unwrap_or(50.0).max(0.0) as usize;
    let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
    if s.chars().count() <= max {
        return s;
    }
    let keep = max.saturating_sub(ellipsis.chars().count());
    s.chars().take(keep).collect::<String>() + &ellipsis
}

/// At most `args[0]` words (15 by default, at least 1), then the ellipsis `args[1]`.
fn truncatewords(s: String, args: &[Value]) -> String {
    let max = args.first().and_then(as_number).unwrap_or(15.0).max(1.0) as usize;
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() <= max {
        return s;
    }
    let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
    words[..max].join(" ") + &ellipsis
}

/// The parts between `sep`s, or the characters when `sep` is empty.
fn split(s: &str, sep: &str) -> Value {
    let parts = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(|p| Value::String(p.to_string())).collect()
    };
    Value::Array(parts)
}
