//! The `date` filter: strftime's common directives over Unix seconds, an ISO 8601 date
//! (or date-time) or the event's moment for "now" and "today", in UTC, over the day numbers
//! of [`calendar`](super::super::calendar) (no date crate in the wasm).

use serde_json::Value;

use super::super::calendar::{civil_from_days, days_from_civil, iso_date};

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

/// From Thursday: 1970-01-01, day 0, was one.
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// `value` formatted by `format`; a value that is no date is left as it is. `now` (Unix
/// seconds, the event's moment) is the date of `"now"` and `"today"`: "You can apply the
/// `date` filter to the keywords `'now'` and `'today'` to output the current timestamp"
/// (<https://shopify.dev/docs/api/liquid/filters/date>); without it they are left as written.
pub(super) fn date(value: &Value, format: &str, now: Option<u64>) -> Value {
    match seconds(value, now) {
        Some(seconds) => Value::String(Moment::at(seconds).format(format)),
        None => value.clone(),
    }
}

/// The Unix seconds of a number, a string of one, an ISO 8601 date, or `now` for the words
/// "now" and "today" (Liquid reads them whatever their case, and "today" is the current
/// time too, not midnight).
fn seconds(value: &Value, now: Option<u64>) -> Option<i64> {
    let seconds = match value {
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        Value::String(s) if is_now(s) => now.and_then(|n| i64::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| iso_seconds(s)),
        _ => None,
    };
    seconds.filter(|s| *s != i64::MIN)
}

/// Whether `text` is one of Liquid's words for the current time.
fn is_now(text: &str) -> bool {
    let word = text.trim();
    word.eq_ignore_ascii_case("now") || word.eq_ignore_ascii_case("today")
}

/// `YYYY-MM-DD`, with `THH:MM:SS` after it or not (a zone is ignored: UTC).
fn iso_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let (y, m, d) = iso_date(text)?;
    let days = days_from_civil(y, m, d)?;
    Some(days * 86_400 + iso_time(text)?)
}

/// The seconds since midnight of the `THH:MM:SS` after a `YYYY-MM-DD`; 0 when there is none.
fn iso_time(text: &str) -> Option<i64> {
    let Some(time) = text.get(11..19) else {
        return Some(0);
    };
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    Some(h * 3600 + mi * 60 + s)
}

/// The fields of a moment that the directives print.
struct Moment {
    seconds: i64,
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: &'static str,
    month_name: &'static str,
}

impl Moment {
    fn at(seconds: i64) -> Moment {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Moment {
            seconds,
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: DAYS[days.rem_euclid(7) as usize],
            month_name: MONTHS[(month - 1) as usize],
        }
    }

    /// `format` with each `%` directive replaced by what it prints of this moment.
    fn format(&self, format: &str) -> String {
        let mut out = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c == '%' {
                out.push_str(&self.directive(chars.next()));
            } else {
                out.push(c);
            }
        }
        out
    }

    /// What `%` and the character after it print; an unknown directive prints as written.
    fn directive(&self, d: Option<char>) -> String {
        match d {
            Some('Y') => self.year.to_string(),
            Some('y') => format!("{:02}", self.year % 100),
            Some('m') => format!("{:02}", self.month),
            Some('d') => format!("{:02}", self.day),
            Some('e') => format!("{:>2}", self.day),
            Some('H') => format!("{:02}", self.hour),
            Some('I') => format!("{:02}", (self.hour + 11) % 12 + 1),
            Some('M') => format!("{:02}", self.minute),
            Some('S') => format!("{:02}", self.second),
            Some('p') => (if self.hour < 12 { "AM" } else { "PM" }).to_string(),
            Some('A') => self.weekday.to_string(),
            Some('a') => self.weekday[..3].to_string(),
            Some('B') => self.month_name.to_string(),
            Some('b') => self.month_name[..3].to_string(),
            Some('s') => self.seconds.to_string(),
            Some('%') | None => "%".to_string(),
            Some(other) => format!("%{other}"),
        }
    }
}
