//! The Split Based On widget's conditions
//! (<https://www.twilio.com/docs/studio/widget-library/split-based-on>): a condition is
//! "Subject, Predicate, \[value\]", the subject being the widget's Variable to Test (the
//! condition's own argument only when the widget has none: exports carry the pattern there
//! too), and "Value can be null for certain conditions, such as is blank".
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

use super::liquid::calendar::{days_from_civil, iso_date};

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

/// Each "not" kind and its positive twin: the twin is tested, and the answer negated.
const NEGATED: &[(Kind, Kind)] = &[
    (Kind::NotEqualTo, Kind::EqualTo),
    (Kind::DoesNotMatchAnyOf, Kind::MatchesAnyOf),
    (Kind::IsNotBlank, Kind::IsBlank),
    (Kind::DoesNotContain, Kind::Contains),
    (Kind::DoesNotStartWith, Kind::StartsWith),
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
    let (kind, negated) = positive_twin(kind);
    positive_holds(kind, input.trim(), value.trim(), now) != negated
}

/// Each "not" kind as its positive twin and `true` (negate it), so only the positive kinds
/// are tested; any other kind as itself and `false`.
fn positive_twin(kind: Kind) -> (Kind, bool) {
    let twin = NEGATED.iter().find(|(negated, _)| *negated == kind);
    twin.map_or((kind, false), |(_, positive)| (*positive, true))
}

/// Whether a positive kind holds of the trimmed `subject` and `value`.
fn positive_holds(kind: Kind, subject: &str, value: &str, now: u64) -> bool {
    let before = matches!(kind, Kind::IsBeforeTime | Kind::IsBeforeDate);
    match kind {
        Kind::EqualTo => same(subject, value),
        Kind::MatchesAnyOf => matches_any_of(subject, value),
        Kind::IsBlank => subject.is_empty(),
        Kind::Regex => regex(value).is_ok_and(|r| r.is_match(subject)),
        Kind::Contains => subject.to_lowercase().contains(&value.to_lowercase()),
        Kind::StartsWith => subject.to_lowercase().starts_with(&value.to_lowercase()),
        Kind::LessThan => numbers(subject, value).is_some_and(|(a, b)| a < b),
        Kind::GreaterThan => numbers(subject, value).is_some_and(|(a, b)| a > b),
        Kind::IsBeforeTime | Kind::IsAfterTime => {
            ordered(before, time_or_now(subject, now), time_of_day(value))
        }
        Kind::IsBeforeDate | Kind::IsAfterDate => {
            ordered(before, day_or_today(subject, now), day(value))
        }
        // The negated kinds were mapped to their twins by `positive_twin`.
        Kind::NotEqualTo
        | Kind::DoesNotMatchAnyOf
        | Kind::IsNotBlank
        | Kind::DoesNotContain
        | Kind::DoesNotStartWith => false,
    }
}

/// The same text but for case (Studio's comparisons ignore it).
fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// `subject` is one of the comma-separated items of `list`, each trimmed, empty ones ignored.
fn matches_any_of(subject: &str, list: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .any(|item| same(subject, item))
}

/// The time of day `subject` names, or the current one (UTC) when it is empty.
fn time_or_now(subject: &str, now: u64) -> Option<u32> {
    if subject.is_empty() {
        return Some((now % 86_400) as u32);
    }
    time_of_day(subject)
}

/// The day `subject` names, or today (UTC) when it is empty.
fn day_or_today(subject: &str, now: u64) -> Option<i64> {
    if subject.is_empty() {
        return Some((now / 86_400) as i64);
    }
    day(subject)
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
    let lower = time_part(text)?.to_ascii_lowercase();
    let (time, pm) = meridiem(&lower);
    let (hours, minutes, seconds) = clock(time)?;
    let hours = twenty_four_hour(hours, pm)?;
    Some(hours * 3600 + minutes * 60 + seconds)
}

/// The time in `text`: after the `T` of an ISO 8601 date-time, without its zone.
fn time_part(text: &str) -> Option<&str> {
    let text = text.trim();
    let time = match text.find('T') {
        Some(at) if text[..at].contains('-') => &text[at + 1..],
        _ => text,
    };
    let time = time.trim_end_matches('Z');
    Some(time.split(['+', '-']).next()?.trim())
}

/// A 12-hour time ("2:30 pm", "12:05am") without its suffix, and whether it is pm; any other
/// time as it is, with `None`.
fn meridiem(lower: &str) -> (&str, Option<bool>) {
    match lower
        .strip_suffix("pm")
        .or_else(|| lower.strip_suffix("am"))
    {
        Some(rest) => (rest.trim(), Some(lower.ends_with("pm"))),
        None => (lower, None),
    }
}

/// The hours, minutes and seconds of `H:MM[:SS[.fraction]]`, each within its range.
fn clock(time: &str) -> Option<(u32, u32, u32)> {
    let mut parts = time.split(':');
    let hours: u32 = parts.next()?.trim().parse().ok()?;
    let minutes: u32 = parts.next()?.trim().parse().ok()?;
    let seconds = clock_seconds(parts.next())?;
    let valid = parts.next().is_none() && hours <= 23 && minutes <= 59 && seconds <= 60;
    valid.then_some((hours, minutes, seconds))
}

/// A time's seconds field without its fraction; 0 when the time has none.
fn clock_seconds(field: Option<&str>) -> Option<u32> {
    match field {
        Some(s) => s.split('.').next()?.parse().ok(),
        None => Some(0),
    }
}

/// A 12-hour clock's `hours` on the 24-hour clock (12 AM is midnight); `pm` is `None` for a
/// time that already is on it. An hour a 12-hour clock does not have is none.
fn twenty_four_hour(hours: u32, pm: Option<bool>) -> Option<u32> {
    match pm {
        None => Some(hours),
        Some(_) if hours == 0 || hours > 12 => None,
        Some(pm) => Some(hours % 12 + if pm { 12 } else { 0 }),
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (or an ISO 8601 date-time's date) or `MM/DD/YYYY`.
fn day(text: &str) -> Option<i64> {
    let text = text.trim();
    let (y, m, d) = match text.split_once('/') {
        Some((m, rest)) => us_date(m, rest)?,
        None => iso_date(text)?,
    };
    days_from_civil(y, m, d)
}

/// The year, month and day of `MM/DD/YYYY`, given the month and what follows its `/`.
fn us_date(m: &str, rest: &str) -> Option<(i64, u32, u32)> {
    let (d, y) = rest.split_once('/')?;
    Some((
        y.trim().parse().ok()?,
        m.trim().parse().ok()?,
        d.trim().parse().ok()?,
    ))
}

#[cfg(test)]
mod tests;
