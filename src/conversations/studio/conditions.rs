//! The Split Based On widget's conditions
//! (https://www.twilio.com/docs/studio/widget-library/split-based-on): a condition is
//! "Subject, Predicate, [value]", the subject being the widget's Variable to Test (or the
//! condition's own argument), and "Value can be null for certain conditions, such as is
//! blank".
//!
//! The rules, as a Studio user relies on them:
//! - Every comparison ignores case and the spaces around the subject and the value: an
//!   earlier version of the page said "Note: Studio conditions are not case-sensitive and
//!   automatically trim leading and trailing spaces of the values"; the current one states no
//!   other rule, so that one is kept (a reply of " Yes" matches `Equal To yes`).
//! - `Matches Any Of` / `Does Not Match Any Of` take a comma-separated list, each item trimmed
//!   and empty items (a trailing comma) ignored: `START, Start, start,` is three items.
//! - `Less Than` / `Greater Than` compare numbers (decimals allowed); a subject or value that
//!   is not a number matches neither.
//! - `Regex` is the value as a regular expression (regex-lite's syntax: Rust's `regex`
//!   without Unicode classes) searched in the trimmed subject (anchor it with `^` and `$`),
//!   without case by the note above (`(?-i)` in the pattern turns that off); an invalid one
//!   refuses the flow. Twilio names no dialect.
//! - `Is Before/After Time` compare times of day (`HH:MM`, `HH:MM:SS`, `2:30 PM`, or the time of an
//!   ISO 8601 date-time), `Is Before/After Date` dates (`YYYY-MM-DD`, `MM/DD/YYYY`, or the date
//!   of an ISO 8601 date-time), the subject against the value; when the subject is empty the
//!   current time (UTC) is the subject, so `Is Before Time 17:00` over an empty input asks
//!   whether it is before 5 pm now.

use regex_lite::RegexBuilder;

use super::liquid::calendar::days_from_civil;

/// One condition kind Studio exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Studio's own names, one each.
pub enum Kind {
    EqualTo,
    NotEqualTo,
    MatchesAnyOf,
    DoesNotMatchAnyOf,
    IsBlank,
    IsNotBlank,
    Regex,
    Contains,
    DoesNotContain,
    StartsWith,
    DoesNotStartWith,
    LessThan,
    GreaterThan,
    IsBeforeTime,
    IsAfterTime,
    IsBeforeDate,
    IsAfterDate,
}

const NAMES: &[(&str, Kind)] = &[
    ("equal_to", Kind::EqualTo),
    ("not_equal_to", Kind::NotEqualTo),
    ("matches_any_of", Kind::MatchesAnyOf),
    ("does_not_match_any_of", Kind::DoesNotMatchAnyOf),
    ("is_blank", Kind::IsBlank),
    ("is_not_blank", Kind::IsNotBlank),
    ("regex", Kind::Regex),
    ("contains", Kind::Contains),
    ("does_not_contain", Kind::DoesNotContain),
    ("starts_with", Kind::StartsWith),
    ("does_not_start_with", Kind::DoesNotStartWith),
    ("less_than", Kind::LessThan),
    ("greater_than", Kind::GreaterThan),
    ("is_before_time", Kind::IsBeforeTime),
    ("is_after_time", Kind::IsAfterTime),
    ("is_before_date", Kind::IsBeforeDate),
    ("is_after_date", Kind::IsAfterDate),
];

/// A regex's compiled size limit: a flow's pattern is the author's, but a Liquid value can
/// make it from an inbound text.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Kind {
    /// The kind Studio's JSON names `name`; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Kind> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }
}

/// Checks a condition's literal `value` when the flow is loaded: a regex that does not
/// compile, a time or date that is none.
pub fn check(kind: Kind, value: &str) -> Result<(), String> {
    match kind {
        Kind::Regex => regex(value).map(|_| ()),
        Kind::IsBeforeTime | Kind::IsAfterTime => time_of_day(value)
            .map(|_| ())
            .ok_or_else(|| format!("\"{value}\" is not a time (HH:MM)")),
        Kind::IsBeforeDate | Kind::IsAfterDate => day(value)
            .map(|_| ())
            .ok_or_else(|| format!("\"{value}\" is not a date (YYYY-MM-DD)")),
        _ => Ok(()),
    }
}

fn regex(pattern: &str) -> Result<regex_lite::Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| format!("the regex does not compile ({e})"))
}

/// Whether `input` meets the condition; `now` is Unix seconds. Never panics: what cannot be
/// compared does not match.
pub fn holds(kind: Kind, input: &str, value: &str, now: u64) -> bool {
    // Each "not" kind is its positive twin, negated.
    let (kind, negated) = match kind {
        Kind::NotEqualTo => (Kind::EqualTo, true),
        Kind::DoesNotMatchAnyOf => (Kind::MatchesAnyOf, true),
        Kind::IsNotBlank => (Kind::IsBlank, true),
        Kind::DoesNotContain => (Kind::Contains, true),
        Kind::DoesNotStartWith => (Kind::StartsWith, true),
        kind => (kind, false),
    };
    let (subject, value) = (input.trim(), value.trim());
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    let positive = match kind {
        Kind::EqualTo => same(subject, value),
        Kind::MatchesAnyOf => value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .any(|item| same(subject, item)),
        Kind::IsBlank => subject.is_empty(),
        Kind::Regex => regex(value).is_ok_and(|r| r.is_match(subject)),
        Kind::Contains => subject.to_lowercase().contains(&value.to_lowercase()),
        Kind::StartsWith => subject.to_lowercase().starts_with(&value.to_lowercase()),
        Kind::LessThan => numbers(subject, value).is_some_and(|(a, b)| a < b),
        Kind::GreaterThan => numbers(subject, value).is_some_and(|(a, b)| a > b),
        Kind::IsBeforeTime | Kind::IsAfterTime => {
            let at = if subject.is_empty() {
                Some((now % 86_400) as u32)
            } else {
                time_of_day(subject)
            };
            ordered(kind == Kind::IsBeforeTime, at, time_of_day(value))
        }
        Kind::IsBeforeDate | Kind::IsAfterDate => {
            let at = if subject.is_empty() {
                Some((now / 86_400) as i64)
            } else {
                day(subject)
            };
            ordered(kind == Kind::IsBeforeDate, at, day(value))
        }
        // The negated kinds were mapped to their twins above.
        Kind::NotEqualTo
        | Kind::DoesNotMatchAnyOf
        | Kind::IsNotBlank
        | Kind::DoesNotContain
        | Kind::DoesNotStartWith => return false,
    };
    positive != negated
}

/// `at` strictly before (or after) `limit`; nothing that is not a time or date is either.
fn ordered<T: PartialOrd>(before: bool, at: Option<T>, limit: Option<T>) -> bool {
    match (at, limit) {
        (Some(a), Some(b)) if before => a < b,
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

fn numbers(a: &str, b: &str) -> Option<(f64, f64)> {
    let number = |s: &str| s.parse::<f64>().ok().filter(|n| n.is_finite());
    Some((number(a)?, number(b)?))
}

/// Seconds since midnight of `HH:MM[:SS]`, or of the time in an ISO 8601 date-time.
fn time_of_day(text: &str) -> Option<u32> {
    let text = text.trim();
    let time = match text.find('T') {
        Some(at) if text[..at].contains('-') => &text[at + 1..],
        _ => text,
    };
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '-']).next()?.trim();
    // A 12-hour time: "2:30 PM", "12:05am" (12 AM is midnight).
    let lower = time.to_ascii_lowercase();
    let (time, shift) = match lower
        .strip_suffix("pm")
        .or_else(|| lower.strip_suffix("am"))
    {
        Some(rest) => (rest.trim().to_string(), Some(lower.ends_with("pm"))),
        None => (lower.clone(), None),
    };
    let mut parts = time.split(':');
    let hours: u32 = parts.next()?.trim().parse().ok()?;
    let minutes: u32 = parts.next()?.trim().parse().ok()?;
    let seconds: u32 = match parts.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let hours = match shift {
        None => hours,
        Some(_) if hours == 0 || hours > 12 => return None,
        Some(pm) => hours % 12 + if pm { 12 } else { 0 },
    };
    Some(hours * 3600 + minutes * 60 + seconds)
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (or an ISO 8601 date-time's date) or `MM/DD/YYYY`.
fn day(text: &str) -> Option<i64> {
    let text = text.trim();
    let (y, m, d) = if let Some((m, rest)) = text.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        (
            y.trim().parse().ok()?,
            m.trim().parse().ok()?,
            d.trim().parse().ok()?,
        )
    } else {
        let date = text.get(..10)?;
        let mut parts = date.split('-');
        let y = parts.next()?.parse().ok()?;
        let m = parts.next()?.parse().ok()?;
        let d = parts.next()?.parse().ok()?;
        (y, m, d)
    };
    days_from_civil(y, m, d)
}

#[cfg(test)]
mod tests;
