//! The filters (intermediate step: still matched by name).

use serde_json::Value;

use super::value::{
    as_number, as_strict_number, equal, integer_like, is_blank, member, number_value, text, truthy,
};

const FILTERS: &[&str] = &[
    "upcase",
    "downcase",
    "capitalize",
    "strip",
    "lstrip",
    "rstrip",
    "strip_newlines",
    "newline_to_br",
    "escape",
    "url_encode",
    "url_decode",
    "append",
    "prepend",
    "replace",
    "replace_first",
    "remove",
    "remove_first",
    "truncate",
    "truncatewords",
    "split",
    "join",
    "first",
    "last",
    "size",
    "default",
    "plus",
    "minus",
    "times",
    "divided_by",
    "modulo",
    "abs",
    "ceil",
    "floor",
    "round",
    "at_least",
    "at_most",
    "slice",
    "reverse",
    "sort",
    "uniq",
    "compact",
    "map",
    "where",
    "json",
    "date",
];

/// A filter, checked against the known names when the template is parsed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Filter(&'static str);

impl Filter {
    pub(super) fn parse(name: &str) -> Option<Filter> {
        FILTERS.iter().find(|f| **f == name).map(|f| Filter(f))
    }

    pub(super) fn apply(self, value: Value, args: &[Value]) -> Value {
        filter(self.0, value, args)
    }
}

fn filter(name: &str, value: Value, args: &[Value]) -> Value {
    let arg = |i: usize| args.get(i).map(text).unwrap_or_default();
    let s = || text(&value);
    let string = |t: String| Value::String(t);
    match name {
        "upcase" => string(s().to_uppercase()),
        "downcase" => string(s().to_lowercase()),
        "capitalize" => {
            let t = s();
            let mut chars = t.chars();
            string(match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        "strip" => string(s().trim().to_string()),
        "lstrip" => string(s().trim_start().to_string()),
        "rstrip" => string(s().trim_end().to_string()),
        "strip_newlines" => string(s().replace(['\r', '\n'], "")),
        "newline_to_br" => string(s().replace('\n', "<br />\n")),
        "escape" => string(
            s().replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;"),
        ),
        "url_encode" => string(form_urlencoded::byte_serialize(s().as_bytes()).collect()),
        "url_decode" => string(
            form_urlencoded::parse(format!("x={}", s()).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
        ),
        "append" => string(s() + &arg(0)),
        "prepend" => string(arg(0) + &s()),
        "replace" => string(s().replace(&arg(0), &arg(1))),
        "replace_first" => string(s().replacen(&arg(0), &arg(1), 1)),
        "remove" => string(s().replace(&arg(0), "")),
        "remove_first" => string(s().replacen(&arg(0), "", 1)),
        "truncate" => {
            let t = s();
            let max = args.first().and_then(as_number).unwrap_or(50.0).max(0.0) as usize;
            let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
            if t.chars().count() <= max {
                return string(t);
            }
            let keep = max.saturating_sub(ellipsis.chars().count());
            string(t.chars().take(keep).collect::<String>() + &ellipsis)
        }
        "truncatewords" => {
            let t = s();
            let max = args.first().and_then(as_number).unwrap_or(15.0).max(1.0) as usize;
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() <= max {
                return string(t);
            }
            let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
            string(words[..max].join(" ") + &ellipsis)
        }
        "split" => {
            let t = s();
            let sep = arg(0);
            let parts: Vec<Value> = if sep.is_empty() {
                t.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                t.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Value::Array(parts)
        }
        "join" => match value {
            Value::Array(items) => {
                let sep = if args.is_empty() {
                    " ".to_string()
                } else {
                    arg(0)
                };
                string(items.iter().map(text).collect::<Vec<_>>().join(&sep))
            }
            other => other,
        },
        "first" | "last" => match &value {
            Value::Array(items) => {
                let item = if name == "first" {
                    items.first()
                } else {
                    items.last()
                };
                item.cloned().unwrap_or(Value::Null)
            }
            Value::String(t) => {
                let c = if name == "first" {
                    t.chars().next()
                } else {
                    t.chars().last()
                };
                c.map(|c| Value::String(c.to_string()))
                    .unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        "size" => match &value {
            Value::Array(items) => Value::from(items.len()),
            Value::Object(map) => Value::from(map.len()),
            Value::String(t) => Value::from(t.chars().count()),
            _ => Value::from(0),
        },
        "default" => {
            let allow_false = args.get(1) == Some(&Value::Bool(true));
            let use_default = match &value {
                Value::Bool(false) => !allow_false,
                other => {
                    is_blank(other) && !matches!(other, Value::Bool(_))
                        || matches!(other, Value::Null)
                }
            };
            if use_default {
                args.first().cloned().unwrap_or(Value::Null)
            } else {
                value
            }
        }
        "plus" | "minus" | "times" | "divided_by" | "modulo" | "at_least" | "at_most" => {
            let (Some(a), Some(b)) = (as_number(&value), args.first().and_then(as_number)) else {
                return Value::Null;
            };
            let integers = integer_like(&value) && args.first().is_some_and(integer_like);
            let result = match name {
                "plus" => a + b,
                "minus" => a - b,
                "times" => a * b,
                "divided_by" if b == 0.0 => return Value::Null,
                "divided_by" if integers => (a / b).floor(),
                "divided_by" => a / b,
                "modulo" if b == 0.0 => return Value::Null,
                "modulo" => a % b,
                "at_least" => a.max(b),
                _ => a.min(b),
            };
            number_value(result, integers)
        }
        "abs" | "ceil" | "floor" | "round" => {
            let Some(a) = as_number(&value) else {
                return Value::Null;
            };
            match name {
                "abs" => number_value(a.abs(), integer_like(&value)),
                "ceil" => number_value(a.ceil(), true),
                "floor" => number_value(a.floor(), true),
                _ => {
                    let places = args
                        .first()
                        .and_then(as_number)
                        .unwrap_or(0.0)
                        .clamp(0.0, 10.0) as i32;
                    let factor = 10f64.powi(places);
                    number_value((a * factor).round() / factor, places == 0)
                }
            }
        }
        "slice" => {
            let start = args.first().and_then(as_number).unwrap_or(0.0) as i64;
            let len = args.get(1).and_then(as_number).unwrap_or(1.0).max(0.0) as usize;
            let slice = |n: usize| {
                let from = if start < 0 {
                    (n as i64 + start).max(0) as usize
                } else {
                    (start as usize).min(n)
                };
                (from, len.min(n - from))
            };
            match value {
                Value::Array(items) => {
                    let (from, len) = slice(items.len());
                    Value::Array(items[from..from + len].to_vec())
                }
                other => {
                    let chars: Vec<char> = text(&other).chars().collect();
                    let (from, len) = slice(chars.len());
                    string(chars[from..from + len].iter().collect())
                }
            }
        }
        "reverse" | "sort" | "uniq" | "compact" => match value {
            Value::Array(mut items) => {
                match name {
                    "reverse" => items.reverse(),
                    "sort" => {
                        items.sort_by(|a, b| match (as_strict_number(a), as_strict_number(b)) {
                            (Some(x), Some(y)) => x.total_cmp(&y),
                            _ => text(a).cmp(&text(b)),
                        })
                    }
                    "uniq" => {
                        let mut seen: Vec<Value> = Vec::new();
                        items.retain(|i| {
                            let new = !seen.contains(i);
                            if new {
                                seen.push(i.clone());
                            }
                            new
                        });
                    }
                    _ => items.retain(|i| !i.is_null()),
                }
                Value::Array(items)
            }
            other => other,
        },
        "map" => match value {
            Value::Array(items) => Value::Array(items.iter().map(|i| member(i, &arg(0))).collect()),
            other => member(&other, &arg(0)),
        },
        "where" => match value {
            Value::Array(items) => {
                let key = arg(0);
                let wanted = args.get(1);
                Value::Array(
                    items
                        .into_iter()
                        .filter(|i| {
                            let v = member(i, &key);
                            match wanted {
                                Some(w) => equal(&v, w),
                                None => truthy(&v),
                            }
                        })
                        .collect(),
                )
            }
            other => other,
        },
        "json" => string(value.to_string()),
        "date" => date(&value, &arg(0)),
        _ => value,
    }
}

/// The `date` filter over Unix seconds, an ISO 8601 date-time or `"now"`, in UTC.
fn date(value: &Value, format: &str) -> Value {
    let seconds = match value {
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        Value::String(s) if s == "now" || s == "today" => None.or(Some(i64::MIN)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| iso_seconds(s)),
        _ => None,
    };
    let Some(seconds) = seconds.filter(|s| *s != i64::MIN) else {
        // "now" needs the clock, which templates do not see: left as written.
        return value.clone();
    };
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y % 100)),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&format!("{d:>2}")),
            Some('H') => out.push_str(&format!("{hour:02}")),
            Some('I') => out.push_str(&format!("{:02}", (hour + 11) % 12 + 1)),
            Some('M') => out.push_str(&format!("{minute:02}")),
            Some('S') => out.push_str(&format!("{second:02}")),
            Some('p') => out.push_str(if hour < 12 { "AM" } else { "PM" }),
            Some('A') => out.push_str(weekday),
            Some('a') => out.push_str(&weekday[..3]),
            Some('B') => out.push_str(month),
            Some('b') => out.push_str(&month[..3]),
            Some('s') => out.push_str(&seconds.to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    Value::String(out)
}

fn iso_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    let days = crate::studio::conditions::days_from_civil(y, m, d)?;
    let mut seconds = days * 86_400;
    if let Some(time) = text.get(11..19) {
        let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
        let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
        seconds += h * 3600 + mi * 60 + s;
    }
    Some(seconds)
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
