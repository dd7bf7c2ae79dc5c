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

    /// The units `c` costs: septets in GSM-7, UTF-16 units in UCS-2.
    fn cost(self, c: char) -> usize {
        match self {
            Encoding::Gsm7 => septets(c).unwrap_or(1),
            Encoding::Ucs2 => c.len_utf16(),
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
    let units: usize = text.chars().map(|c| encoding.cost(c)).sum();
    let count = if units == 0 {
        0
    } else if units <= single {
        1
    } else {
        parts(text, encoding, part)
    };
    Segments {
        encoding,
        count,
        units,
    }
}

/// How many parts of `part` units a text too long for one segment takes, no character
/// split across two.
fn parts(text: &str, encoding: Encoding, part: usize) -> usize {
    let (mut count, mut used) = (1, 0);
    for c in text.chars() {
        if used + encoding.cost(c) > part {
            count += 1;
            used = 0;
        }
        used += encoding.cost(c);
    }
    count
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
    spelled_out(c).or_else(|| printable(ascii_look_alike(c)?))
}

/// The stand-ins that are not one character: the ellipsis, the double exclamation mark, the
/// fractions, and nothing for the invisible characters.
#[cfg(feature = "smart-encoding")]
fn spelled_out(c: char) -> Option<&'static str> {
    match c {
        '…' => Some("..."),
        '‼' => Some("!!"),
        '¼' => Some("1/4"),
        '½' => Some("1/2"),
        '¾' => Some("3/4"),
        // Invisible: zero-width space, word joiner, byte-order mark.
        '\u{200b}' | '\u{2060}' | '\u{feff}' => Some(""),
        _ => None,
    }
}

/// The one ASCII character that stands in for `c`, when there is one.
#[cfg(feature = "smart-encoding")]
fn ascii_look_alike(c: char) -> Option<char> {
    Some(match c {
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
    })
}

/// `ascii` as a static string, from a table rather than an allocation; `None` for a control
/// character.
#[cfg(feature = "smart-encoding")]
fn printable(ascii: char) -> Option<&'static str> {
    // Every printable ASCII character is in GSM-7 but the grave accent.
    const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_'abcdefghijklmnopqrstuvwxyz{|}~";
    let at = (ascii as usize).checked_sub(0x20)?;
    PRINTABLE.get(at..at + 1)
}

#[cfg(test)]
mod tests;
