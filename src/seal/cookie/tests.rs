use super::*;

#[test]
fn set_cookie_has_twilio_friendly_attributes() {
    let header = set_cookie("2ce.abc.def.ghi", 14_400);
    // Read back by an independent parser, as a client's cookie jar would.
    let parsed = cookie::Cookie::parse(header.as_str()).unwrap();
    assert_eq!(
        (parsed.name(), parsed.value()),
        (COOKIE_NAME, "2ce.abc.def.ghi")
    );
    assert_eq!(parsed.path(), Some("/"));
    assert_eq!(parsed.http_only(), Some(true));
    assert_eq!(parsed.secure(), Some(true));
    assert_eq!(parsed.max_age().map(|d| d.whole_seconds()), Some(14_400));
    let removal = cookie::Cookie::parse(set_cookie("", 0)).unwrap();
    assert_eq!(
        (
            removal.value(),
            removal.max_age().map(|d| d.whole_seconds())
        ),
        ("", Some(0))
    );
}

#[test]
fn request_cookie_headers_yield_every_value_of_ours() {
    assert_eq!(
        our_cookie_values("a=1; sms_state=x.y; b=2;sms_state=z"),
        ["x.y", "z"]
    );
    assert!(our_cookie_values("").is_empty());
    assert!(our_cookie_values("sms_state").is_empty());
    // Bytes a header cannot hold are no cookie, not an error.
    assert!(our_cookie_values("sms_state=a\nb").is_empty());
    // Nor is a header with non-ASCII bytes (Twilio's jar for the pair only holds what we
    // set, which is ASCII): a fresh conversation rather than a guess.
    assert!(our_cookie_values("x=é; sms_state=v").is_empty());
    assert!(our_cookie_values("x=\x7f; sms_state=v").is_empty());
}

#[test]
fn cookie_headers_split_as_hyperium_headers_does() {
    // Tabs and spaces around items, names and values; items without `=`; empty items.
    assert_eq!(
        our_cookie_values(";;\tsms_state \t= a.b ;flag; sms_state=;=x;sms_state=c=d"),
        ["a.b", "", "c=d"]
    );
    // A `;` inside double quotes separates nothing, and quotes stay in the value.
    assert_eq!(
        our_cookie_values(r#"a="x;sms_state=no"; sms_state="q""#),
        [r#""q""#]
    );
    assert!(our_cookie_values(r#"a="unterminated; sms_state=v"#).is_empty());
    assert!(our_cookie_values("SMS_STATE=v; sms_statex=v").is_empty());
}
