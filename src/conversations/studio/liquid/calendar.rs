//! Days since 1970-01-01 and back, by Howard Hinnant's algorithms
//! (<https://howardhinnant.github.io/date_algorithms.html>): the `date` filter's calendar, and
//! the Split widget's date conditions' (`studio::conditions`), and how both read a
//! `YYYY-MM-DD` date. It lives in Liquid because
//! Liquid reads nothing of the crate outside its folder; the conditions may read Liquid.

/// Howard Hinnant's `civil_from_days`.
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
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

/// Howard Hinnant's `days_from_civil`, none for a date that does not exist (or a year
/// outside 0–9999). `pub(crate)`: the Split widget's date conditions count days with it
/// too.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if d == 0 || d > days_in_month(y, m)? {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// How many days month `m` of year `y` has; none for a month that is no month, or a year
/// outside 0–9999.
fn days_in_month(y: i64, m: u32) -> Option<u32> {
    if !(1..=12).contains(&m) || !(0..=9999).contains(&y) {
        return None;
    }
    let month_days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    Some(month_days[(m - 1) as usize] + u32::from(m == 2 && leap))
}

/// The year, month and day of a `YYYY-MM-DD` date (or of an ISO 8601 date-time's date), not
/// yet checked to exist. `pub(crate)`: the `date` filter and the Split widget's date
/// conditions both read dates this way.
pub(crate) fn iso_date(text: &str) -> Option<(i64, u32, u32)> {
    let mut parts = text.get(..10)?.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some((y, m, d))
}
