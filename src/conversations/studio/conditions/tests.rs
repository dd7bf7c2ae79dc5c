//! The conditions' rules, one kind or family at a time.

use super::*;

fn holds_named(kind: &str, input: &str, value: &str) -> bool {
    holds(Kind::from_name(kind).unwrap(), input, value, 1_700_000_000)
}

#[test]
fn every_kind_studio_exports_has_a_name() {
    assert_eq!(NAMES.len(), 17);
    assert_eq!(Kind::from_name("equal_to"), Some(Kind::EqualTo));
    assert_eq!(Kind::from_name("is_between"), None);
}

#[test]
fn text_ignores_case_and_surrounding_spaces() {
    assert!(holds_named("equal_to", " YES ", "yes"));
    assert!(!holds_named("equal_to", "yes please", "yes"));
    assert!(holds_named("not_equal_to", "no", "yes"));
    assert!(holds_named("contains", "Maybe YES", "yes"));
    assert!(holds_named("does_not_contain", "nope", "yes"));
    assert!(holds_named("starts_with", "Stop now", "stop"));
    assert!(holds_named("does_not_start_with", "now stop", "stop"));
}

#[test]
fn lists_are_comma_separated_trimmed_and_skip_empty_items() {
    assert!(holds_named(
        "matches_any_of",
        "start",
        "START, Start, start,"
    ));
    assert!(holds_named("matches_any_of", "Help!", "Help, HELP!, z"));
    assert!(!holds_named("matches_any_of", "", "a, ,b,"));
    assert!(!holds_named("matches_any_of", "a b", "a,b"));
    assert!(holds_named("does_not_match_any_of", "c", "a,b"));
    assert!(!holds_named("does_not_match_any_of", "B", "a,b"));
}

#[test]
fn blank_means_empty_after_trimming() {
    assert!(holds_named("is_blank", "   ", "Is Blank"));
    assert!(holds_named("is_not_blank", "x", ""));
    assert!(!holds_named("is_not_blank", "\n", ""));
}

#[test]
fn numbers_compare_as_numbers_and_text_matches_neither() {
    assert!(holds_named("less_than", "9", "10"));
    assert!(!holds_named("less_than", "10", "9"));
    assert!(holds_named("greater_than", " 2.5 ", "2"));
    assert!(!holds_named("less_than", "abc", "10000"));
    assert!(!holds_named("greater_than", "abc", "1"));
    assert!(!holds_named("less_than", "NaN", "1"));
}

#[test]
fn regexes_search_the_subject_and_bad_ones_refuse_the_flow() {
    assert!(holds_named("regex", "order 1234", r"\d{4}"));
    assert!(!holds_named("regex", "order 12", r"^\d{4}$"));
    assert!(holds_named("regex", "YES", "^yes$"));
    assert!(!holds_named("regex", "YES", "(?-i)yes"));
    assert!(holds_named("regex", " 1234 ", r"^\d{4}$"));
    assert!(check(Kind::Regex, "(").is_err());
    assert!(!holds_named("regex", "(", "("));
    assert!(check(Kind::Regex, r"^\d+$").is_ok());
}

#[test]
fn times_and_dates() {
    assert!(holds_named("is_before_time", "09:30", "10:00"));
    assert!(holds_named("is_after_time", "2:30 PM", "14:00"));
    assert!(holds_named("is_before_time", "12:05am", "1:00 AM"));
    assert!(check(Kind::IsBeforeTime, "13:00 PM").is_err());
    assert!(holds_named(
        "is_after_time",
        "2024-05-01T18:15:00Z",
        "17:00"
    ));
    assert!(!holds_named("is_after_time", "soon", "17:00"));
    // An empty subject is now: 1_700_000_000 is 2023-11-14 22:13:20 UTC.
    assert!(holds_named("is_after_time", "", "22:00"));
    assert!(holds_named("is_before_date", "", "2023-11-15"));
    assert!(holds_named("is_after_date", "12/25/2024", "2024-12-24"));
    assert!(!holds_named("is_before_date", "2024-02-30", "2025-01-01"));
    assert!(check(Kind::IsBeforeTime, "25:00").is_err());
    assert!(check(Kind::IsAfterDate, "tomorrow").is_err());
    assert_eq!(days_from_civil(1970, 1, 1), Some(0));
    assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
}
