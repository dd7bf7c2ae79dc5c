//! How many SMS segments a text costs, and Twilio's Smart Encoding.
//!
//! Twilio bills each segment. A text whose every character is in GSM-7 (the basic table, or
//! the extension table at two septets each: `^ { } \ [ ~ ] | €` and form feed) fits 160
//! septets in one segment, 153 per segment when split; anything else is sent as UCS-2, 70
//! UTF-16 code units in one segment, 67 when split (an emoji is 2). A character is never
//! split across two segments (3GPP TS 23.038: an escape pair stays whole; a surrogate pair
//! too, as Twilio's own calculator does), so a split text can need one segment more than
//! its length divided by 153 or 67.
//!
//! One curly quote pasted from a word processor makes a whole text UCS-2: `smart_encode`
//! swaps such look-alikes for GSM-7 characters, as Twilio's Smart Encoding (a Messaging
//! Service setting) does, when that makes the whole text GSM-7.

#[cfg(feature = "smart-encoding")]
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::conversation::Reply;

/// The alphabet a text is sent in: it decides how many characters fit in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38's 7-bit alphabet (and its extension table).
    Gsm7,
    /// 16-bit UCS-2, for a text with any character outside GSM-7.
    Ucs2,
}

impl Encoding {
    /// Its name in the log line (as serde names it).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// What one text costs: its encoding, its segments, and its length in that encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    /// GSM-7 or UCS-2.
    pub encoding: Encoding,
    /// Segments billed (0 for an empty text: a media-only message has no SMS text).
    pub count: usize,
    /// Septets for GSM-7 (an extension character is 2), UTF-16 code units for UCS-2.
    pub units: usize,
}

/// One segment of GSM-7 alone; split, each segment's header leaves 153.
const GSM7_SINGLE: usize = 160;
const GSM7_SPLIT: usize = 153;
/// The same for UCS-2, in UTF-16 code units.
const UCS2_SINGLE: usize = 70;
const UCS2_SPLIT: usize = 67;

/// The encoding and segments `text` is sent in.
///
/// ```
/// use sms_conversation_worker::twilio::segments::{segments, Encoding};
/// let plain = segments("Hello, thanks for the new message.");
/// assert_eq!((plain.encoding, plain.count, plain.units), (Encoding::Gsm7, 1, 34));
/// let curly = segments("It’s here");
/// assert_eq!((curly.encoding, curly.count, curly.units), (Encoding::Ucs2, 1, 9));
/// assert_eq!(segments(&"a".repeat(161)).count, 2);
/// ```
// Not inlined: the webhook's path is generic over its stores, and one copy serves them all.
#[inline(never)]
pub fn segments(text: &str) -> Segments {
    if text.chars().all(|c| septets(c).is_some()) {
        split(text, Encoding::Gsm7, GSM7_SINGLE, GSM7_SPLIT)
    } else {
        split(text, Encoding::Ucs2, UCS2_SINGLE, UCS2_SPLIT)
    }
}

/// The segments of each of `reply`'s messages, in order: what the log line shows.
pub fn reply_segments(reply: &Reply) -> Vec<Segments> {
    reply
        .messages()
        .iter()
        .map(|m| segments(m.body()))
        .collect()
}

/// Fills segments with whole characters: each costs its units (septets in GSM-7, UTF-16
/// units in UCS-2), and one that does not fit in what is left of a segment starts the next.
fn split(text: &str, encoding: Encoding, single: usize, part: usize) -> Segments {
    let cost = |c: char| match encoding {
        Encoding::Gsm7 => septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    };
    let units: usize = text.chars().map(cost).sum();
    let count = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        let (mut count, mut used) = (1, 0);
        for c in text.chars() {
            if used + cost(c) > part {
                count += 1;
                used = 0;
            }
            used += cost(c);
        }
        count
    };
    Segments {
        encoding,
        count,
        units,
    }
}

/// Septets `c` takes in GSM-7 (2 for the extension table's escape pair), `None` when it is
/// not in GSM-7.
fn septets(c: char) -> Option<usize> {
    match c {
        '\u{c}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        // Printable ASCII is in GSM-7, but for the grave accent.
        '`' => None,
        ' '..='~' | '\n' | '\r' => Some(1),
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ' | 'Γ'
        | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡' | 'Ä'
        | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        _ => None,
    }
}

/// `text` with the characters that needlessly force UCS-2 (curly quotes, long dashes, the
/// ellipsis, unusual spaces, primes, fullwidth forms, …) replaced by GSM-7 look-alikes,
/// following Twilio's Smart Encoding list. Like Twilio, it changes nothing unless the whole
/// text becomes GSM-7: a text with an emoji stays UCS-2 anyway, and keeps its quotes.
///
/// ```
/// use sms_conversation_worker::twilio::segments::smart_encode;
/// assert_eq!(smart_encode("“It’s—here…”"), "\"It's-here...\"");
/// assert_eq!(smart_encode("It’s 🐶"), "It’s 🐶");
/// assert!(matches!(smart_encode("plain"), std::borrow::Cow::Borrowed(_)));
/// ```
#[cfg(feature = "smart-encoding")]
pub fn smart_encode(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| septets(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if septets(c).is_some() {
            out.push(c);
        } else if let Some(look_alike) = look_alike(c) {
            out.push_str(look_alike);
        } else {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(out)
}

/// [`smart_encode`] over each message of `reply` (still cut to 1600 characters: an ellipsis
/// becomes three).
#[cfg(feature = "smart-encoding")]
#[inline(never)]
pub fn smart_encode_reply(reply: Reply) -> Reply {
    reply.map_texts(|text| match smart_encode(text) {
        Cow::Borrowed(_) => None,
        Cow::Owned(encoded) => Some(encoded),
    })
}

/// `reply` as `SMART_ENCODING` (`smart_encoding`) wants it sent; a build without the
/// `smart-encoding` feature refuses the setting, so it is never on there.
pub(crate) fn as_configured(reply: Reply, smart_encoding: bool) -> Reply {
    #[cfg(feature = "smart-encoding")]
    if smart_encoding {
        return smart_encode_reply(reply);
    }
    let _ = smart_encoding;
    reply
}

/// The GSM-7 stand-in for a character outside GSM-7, from Twilio's Smart Encoding list
/// (plus the primes and fullwidth forms), as a match so the wasm carries no table.
#[cfg(feature = "smart-encoding")]
fn look_alike(c: char) -> Option<&'static str> {
    let ascii = match c {
        '…' => return Some("..."),
        '‼' => return Some("!!"),
        '¼' => return Some("1/4"),
        '½' => return Some("1/2"),
        '¾' => return Some("3/4"),
        // Invisible: zero-width space, word joiner, byte-order mark.
        '\u{200b}' | '\u{2060}' | '\u{feff}' => return Some(""),
        '«' | '»' | '“' | '”' | 'ʺ' | 'ˮ' | '„' | '‟' | '″' | '‶' | '❝' | '❞' | '〝' | '〞' => {
            '"'
        }
        '‘' | '’' | 'ʻ' | 'ˈ' | 'ʼ' | 'ʽ' | 'ʹ' | '‛' | '′' | '‵' | '´' | 'ˊ' | '`' | 'ˋ' | '❛'
        | '❜' | '\u{313}' | '\u{314}' | '\u{fe10}' | '\u{fe11}' => '\'',
        '‚' | '\u{326}' | '\u{fe50}' | '\u{fe51}' | '\u{ff64}' | '、' => ',',
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '⁃' | '−' | '\u{fe63}' | '•' => '-',
        '‹' => '<',
        '›' => '>',
        '÷' | '⁄' | '∕' | '⧸' => '/',
        '˜' | '˷' | '∼' => '~',
        'ˆ' => '^',
        '∣' => '|',
        '∗' | '⁎' => '*',
        '。' | '\u{ff61}' => '.',
        // No-break, typographic and ideographic spaces, line and paragraph separators.
        '\u{a0}'
        | '\u{2000}'..='\u{200a}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202f}'
        | '\u{205f}'
        | '\u{3000}' => ' ',
        // Fullwidth ASCII, ！ to ～.
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0)?,
        _ => return None,
    };
    // Every printable ASCII character is in GSM-7 but the grave accent.
    const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_'abcdefghijklmnopqrstuvwxyz{|}~";
    let at = (ascii as usize).checked_sub(0x20)?;
    PRINTABLE.get(at..at + 1)
}

#[cfg(test)]
mod tests {
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
}

/// The whole webhook path: the log line's `segments`, `SMART_ENCODING` before the reply is
/// rendered and kept (a retry, and the pair's object, give the same text).
#[cfg(all(test, feature = "harness", feature = "counter"))]
mod webhook_tests {
    use super::*;
    use crate::conversations::Counter;
    use crate::harness::TestPhone;

    const CURLY: &str =
        "“Hi {name}” – it’s message {count}… and we’re glad you’re here, truly: “welcome”!";

    fn phone(smart: &str) -> TestPhone {
        let vars = [("REPLY_FIRST", CURLY), ("SMART_ENCODING", smart)];
        TestPhone::new::<Counter>(&vars).unwrap()
    }

    #[test]
    fn the_log_and_the_test_phone_count_the_same_segments() {
        let mut phone = phone("false");
        let answer = phone.text("hi");
        assert!(answer.texts()[0].starts_with("“Hi Friend”"));
        let s = answer.segments();
        assert_eq!((s[0].encoding, s[0].count), (Encoding::Ucs2, 2));
        assert_eq!(answer.logged_segments, s);
        let retry = phone.retry();
        assert_eq!(retry.outcome, "retry");
        assert_eq!(retry.logged_segments, s, "a retry logs what it sends again");
    }

    /// During a deploy a new worker meets an object of the previous version.
    #[test]
    fn an_older_objects_answer_without_segments_still_reads() {
        let json = r#"{"body":"","set_cookie":null,"outcome":"reply","source":null,"count":1,"writes":[]}"#;
        let answer: crate::objects::calls::ObjectAnswer = serde_json::from_str(json).unwrap();
        assert!(answer.segments.is_empty());
    }

    #[cfg(feature = "smart-encoding")]
    #[test]
    fn smart_encoding_is_applied_before_the_reply_is_rendered_and_kept() {
        for mut phone in [phone("true"), phone("true").with_objects()] {
            let answer = phone.text("hi");
            let text = answer.texts()[0];
            assert!(
                text.starts_with("\"Hi Friend\" - it's message 1..."),
                "{text}"
            );
            let s = answer.segments();
            assert_eq!((s[0].encoding, s[0].count), (Encoding::Gsm7, 1));
            assert_eq!(answer.logged_segments, s);
            let retry = phone.retry();
            assert_eq!(
                retry.texts(),
                answer.texts(),
                "the kept reply is the encoded one"
            );
            assert_eq!(retry.logged_segments, s);
        }
    }
}
