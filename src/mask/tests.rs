use super::*;

#[test]
fn numbers_in_error_texts_are_masked_as_in_the_log() {
    let cases = [
        (
            "21211",
            "The 'To' number +15551234567 is not a valid phone number.",
            "The 'To' number +15*******67 is not a valid phone number.",
        ),
        (
            "whatsapp",
            "63016: outside the window for whatsapp:+14155550100",
            "63016: outside the window for wha****************00",
        ),
        (
            "two numbers",
            "From +15005550006 to +14155550100",
            "From +15*******06 to +14*******00",
        ),
        (
            "formatted",
            "to +1 (415) 555-0100.",
            "to +1 ************00.",
        ),
        (
            "url-encoded",
            "https://api.test/Messages?To=%2B14155550100&x=1",
            "https://api.test/Messages?To=%2B*********00&x=1",
        ),
        (
            "bare digits",
            "dialled 4155550100 today",
            "dialled 415*****00 today",
        ),
        (
            "short runs stay",
            "error 20429 after 3 tries, status 503",
            "error 20429 after 3 tries, status 503",
        ),
        (
            "inside a word",
            "SM1234567890abcdef and 1+1",
            "SM1234567890abcdef and 1+1",
        ),
        ("a lone plus", "a + b, +x", "a + b, +x"),
        ("non-ASCII", "é+15551234567é", "é+15*******67é"),
        ("empty", "", ""),
    ];
    for (label, text, masked) in cases {
        assert_eq!(mask_numbers(text), masked, "{label}");
    }
    assert_eq!(mask_numbers("+15551234567"), mask_number("+15551234567"));
    for (label, _, masked) in cases {
        assert_eq!(mask_numbers(masked), masked, "{label}: masking twice");
    }
}

#[test]
fn a_number_keeps_its_first_three_and_last_two_characters_whatever_their_bytes() {
    assert_eq!(mask_number("+15551234567"), "+15*******67");
    assert_eq!(
        mask_number("whatsapp:+15551234567"),
        "wha****************67"
    );
    // Characters, not bytes: a sender id in another script is cut at char boundaries.
    assert_eq!(mask_number("é12345678é"), "é12*****8é");
    assert_eq!(mask_number("éé12é"), "*****");
    assert_eq!(mask_number("1234567"), "123**67");
    assert_eq!(mask_number(""), "");
}
