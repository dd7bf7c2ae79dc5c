use super::*;

/// One row of the table the simulator's JavaScript is checked against too
/// (`tests/simulator.test.mjs`): the text is `parts`, each repeated its count.
#[derive(Deserialize)]
struct Case {
    name: String,
    parts: Vec<(String, usize)>,
    encoding: Encoding,
    count: usize,
    units: usize,
}

const TABLE: &str = include_str!("segments.json");

#[test]
fn segments_table() {
    let cases: Vec<Case> = serde_json::from_str(TABLE).unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text: String = case.parts.iter().map(|(s, n)| s.repeat(*n)).collect();
        let expected = Segments {
            encoding: case.encoding,
            count: case.count,
            units: case.units,
        };
        assert_eq!(segments(&text), expected, "{}", case.name);
    }
}

#[test]
fn segments_never_split_an_escape_pair_or_a_surrogate_pair() {
    // 152 septets, then € (2): 306 septets would fill two segments exactly, but the pair
    // cannot straddle the boundary, so the last septet needs a third.
    let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
    assert_eq!((segments(&text).units, segments(&text).count), (306, 3));
    // UCS-2: 66 units, then an emoji (2) that does not fit in the first 67.
    let text = format!("{}🐶{}", "ê".repeat(66), "x".repeat(3));
    assert_eq!((segments(&text).units, segments(&text).count), (71, 2));
    let text = format!("{}🐶", "ê".repeat(66));
    assert_eq!(
        segments(&text).count,
        1,
        "68 units fit in one segment of 70"
    );
}

#[cfg(feature = "smart-encoding")]
#[test]
fn smart_encoding_turns_a_curly_reply_back_into_fewer_gsm7_segments() {
    let curly = format!("“{}” – it’s done…", "word ".repeat(20));
    let before = segments(&curly);
    assert_eq!((before.encoding, before.count), (Encoding::Ucs2, 2));
    let reply = smart_encode_reply(Reply::text(curly.as_str()).then("It’s 🐶"));
    assert_eq!(
        reply.texts(),
        [
            format!("\"{}\" - it's done...", "word ".repeat(20)).as_str(),
            "It’s 🐶"
        ]
    );
    let after = reply_segments(&reply);
    assert_eq!((after[0].encoding, after[0].count), (Encoding::Gsm7, 1));
    assert_eq!(
        after[1].encoding,
        Encoding::Ucs2,
        "an emoji keeps its text as it was"
    );
}

#[cfg(feature = "smart-encoding")]
#[test]
fn smart_encoding_covers_the_usual_look_alikes() {
    for (from, to) in [
        ("‘single’ “double” ‚low„", "'single' \"double\" ,low\""),
        ("a–b—c―d", "a-b-c-d"),
        ("wait…", "wait..."),
        (
            "no\u{a0}break\u{2009}thin\u{3000}wide\u{200b}",
            "no break thin wide",
        ),
        ("5′ 11″", "5' 11\""),
        ("ＡＢＣ１２３！｀", "ABC123!'"),
        ("½ ÷ ‹›", "1/2 / <>"),
    ] {
        assert_eq!(smart_encode(from), to, "{from}");
        assert_eq!(segments(to).encoding, Encoding::Gsm7, "{to}");
    }
}

#[cfg(feature = "smart-encoding")]
#[test]
fn smart_encoding_keeps_the_1600_character_cut() {
    let reply = smart_encode_reply(Reply::text("…".repeat(1600)));
    assert_eq!(reply.texts()[0], ".".repeat(1600));
}

#[test]
fn the_log_names_encodings_in_snake_case() {
    let json = serde_json::to_string(&segments("hi")).unwrap();
    assert_eq!(json, r#"{"encoding":"gsm7","count":1,"units":2}"#);
    let json = serde_json::to_string(&segments("🐶")).unwrap();
    assert_eq!(json, r#"{"encoding":"ucs2","count":1,"units":2}"#);
}
