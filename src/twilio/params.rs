//! Twilio's inbound-message webhook parameters, parsed into a typed message.
//!
//! Twilio posts `application/x-www-form-urlencoded` (or puts the same parameters in the
//! query for GET webhooks). It adds parameters without notice, so unknown ones are kept
//! for the signature (which covers all of them) and otherwise ignored.

use std::borrow::Cow;
use std::fmt;

pub use crate::conversation::{InboundMessage, Media};

/// More parameters than this is not a Twilio webhook: a message with ten media items
/// and every optional field has well under a hundred.
pub const MAX_PARAMS: usize = 200;

/// What is wrong with a webhook's parameters. Each maps to a 400 with its `Display` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// A required parameter is absent or empty.
    Missing(&'static str),
    /// Bytes that are not `application/x-www-form-urlencoded` UTF-8 text.
    Malformed(String),
    /// More than [`MAX_PARAMS`] parameters.
    TooMany,
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::Missing(name) => write!(
                f,
                "missing {name}: this endpoint expects Twilio's incoming-message webhook parameters"
            ),
            ParamsError::Malformed(why) => write!(f, "malformed form parameters: {why}"),
            ParamsError::TooMany => write!(f, "too many parameters (more than {MAX_PARAMS})"),
        }
    }
}

/// The webhook's parameters in the order received, names and values decoded: borrowed from
/// the body where they hold no escape (most do), so a webhook copies only what it keeps.
pub type Params<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Decodes `application/x-www-form-urlencoded` bytes (a POST body or a query string) as the
/// WHATWG form parser (and `form_urlencoded`, serde_urlencoded's) reads them: `&`-separated
/// pieces, empty ones skipped, each split at its first `=`, `+` a space, then
/// percent-escapes decoded (an escape that is not one stays as it is).
///
/// Percent-escapes that decode to invalid UTF-8 are an error rather than silently
/// becoming U+FFFD: a reply built from mangled text is worse than a clear 400.
///
/// ```
/// use sms_conversation_worker::twilio::params::parse_params;
/// let params = parse_params(b"Body=caf%C3%A9+%26+more&To=%2B15005550006").unwrap();
/// assert_eq!((&*params[0].1, &*params[1].1), ("caf\u{e9} & more", "+15005550006"));
/// assert!(parse_params(b"Body=%FF").is_err());
/// ```
pub fn parse_params(encoded: &[u8]) -> Result<Params<'_>, ParamsError> {
    let text =
        std::str::from_utf8(encoded).map_err(|_| ParamsError::Malformed("not UTF-8".into()))?;
    let mut params = Params::with_capacity(separators(text)? + 1);
    // One pass over the bytes finds each piece's end, its first `=`, and whether its name or
    // value holds a `+` or `%` to decode (a search per `&` and `=` cost twice the whole).
    let bytes = text.as_bytes();
    let mut piece = Piece::at(0);
    let mut i = 0;
    loop {
        // To the next byte that matters, in a loop of its own.
        i += bytes[i..]
            .iter()
            .position(|&b| SPECIAL[usize::from(b)])
            .unwrap_or(bytes.len() - i);
        match bytes.get(i) {
            None => break,
            Some(b'&') => {
                piece.push_to(&mut params, text, i)?;
                piece = Piece::at(i + 1);
            }
            Some(b'=') if piece.eq.is_none() => piece.eq = Some(i),
            Some(b'=') => {}
            Some(&b) => {
                let mark = if b == b'+' { PLUS } else { PERCENT };
                piece.marks[usize::from(piece.eq.is_some())] |= mark;
            }
        }
        i += 1;
    }
    piece.push_to(&mut params, text, bytes.len())?;
    Ok(params)
}

/// The bytes that end a piece, split it, or ask for decoding: `&`, `=`, `+` and `%`.
static SPECIAL: [bool; 256] = {
    let mut special = [false; 256];
    special[b'&' as usize] = true;
    special[b'=' as usize] = true;
    special[b'+' as usize] = true;
    special[b'%' as usize] = true;
    special
};

/// The marks of a name or value holding a `+`, a `%`.
const PLUS: u8 = 1;
const PERCENT: u8 = 2;

/// A piece of the form being read: where it starts, its first `=`, and what its name
/// (`marks[0]`) and value (`marks[1]`) hold to decode ([`PLUS`], [`PERCENT`]).
struct Piece {
    start: usize,
    eq: Option<usize>,
    marks: [u8; 2],
}

impl Piece {
    fn at(start: usize) -> Self {
        Piece {
            start,
            eq: None,
            marks: [0; 2],
        }
    }

    /// The piece ending at `end` decoded into `params`; an empty one is skipped.
    fn push_to<'a>(
        &self,
        params: &mut Params<'a>,
        text: &'a str,
        end: usize,
    ) -> Result<(), ParamsError> {
        if end == self.start {
            return Ok(());
        }
        let (name, value) = match self.eq {
            Some(eq) => (&text[self.start..eq], &text[eq + 1..end]),
            None => (&text[self.start..end], ""),
        };
        params.push((decode(name, self.marks[0])?, decode(value, self.marks[1])?));
        Ok(())
    }
}

/// The `&` separators in `text`: a cheap bound before decoding anything, as each parameter
/// needs one.
fn separators(text: &str) -> Result<usize, ParamsError> {
    let separators = text.bytes().filter(|&b| b == b'&').count();
    if separators >= MAX_PARAMS {
        return Err(ParamsError::TooMany);
    }
    Ok(separators)
}

/// One name or value decoded, `marks` saying what it holds: borrowed from the body when it
/// holds no `+` and no `%` (most of Twilio's), copied once when it holds only one of them.
/// The escapes are decoded by the `percent-encoding` crate.
fn decode(part: &str, marks: u8) -> Result<Cow<'_, str>, ParamsError> {
    let spaced = if marks & PLUS != 0 {
        Cow::Owned(part.replace('+', " "))
    } else {
        Cow::Borrowed(part)
    };
    if marks & PERCENT == 0 {
        return Ok(spaced);
    }
    // Sized once, as decoding only shortens: `decode_utf8` collects into a buffer grown from
    // empty, three reallocations a typical webhook.
    let mut bytes = Vec::with_capacity(spaced.len());
    bytes.extend(percent_encoding::percent_decode_str(&spaced));
    match String::from_utf8(bytes) {
        Ok(decoded) => Ok(Cow::Owned(decoded)),
        Err(_) => Err(ParamsError::Malformed(
            "percent-escapes that are not UTF-8".into(),
        )),
    }
}

/// `From`, `To` and `Body` as found, kept apart from the message until they are checked.
#[derive(Default)]
struct Required {
    from: Option<String>,
    to: Option<String>,
    body: Option<String>,
}

impl InboundMessage {
    /// Builds the message from decoded parameters; `From` and `To` are required. Unknown
    /// parameters are ignored; a known one given twice is malformed. A parameter that is
    /// present is `Some`, even when empty.
    ///
    /// ```
    /// use sms_conversation_worker::twilio::params::{parse_params, InboundMessage};
    /// let params = parse_params(b"From=%2B14155550100&To=%2B15005550006&Body=Hi+there&Extra=1").unwrap();
    /// let msg = InboundMessage::from_params(&params).unwrap();
    /// assert_eq!((msg.from.as_str(), msg.body.as_str()), ("+14155550100", "Hi there"));
    /// ```
    pub fn from_params(params: &Params<'_>) -> Result<Self, ParamsError> {
        Self::from_params_keeping(params, true)
    }

    /// [`InboundMessage::from_params`], keeping the parameters it does not name
    /// ([`InboundMessage::other`]) only when `keep_other` (the conversation reads them).
    pub(crate) fn from_params_keeping(
        params: &Params<'_>,
        keep_other: bool,
    ) -> Result<Self, ParamsError> {
        #[cfg(not(feature = "studio"))]
        let _ = keep_other;
        let mut msg = InboundMessage::default();
        let mut required = Required::default();
        // Most of Twilio's parameters are others: room for them all, once.
        #[cfg(feature = "studio")]
        if keep_other {
            msg.other.reserve(params.len());
        }
        for (name, value) in params {
            let Some(field) = msg.slot(name, &mut required) else {
                #[cfg(feature = "studio")]
                if keep_other {
                    msg.keep_other(name, value);
                }
                continue;
            };
            fill(field, name, value)?;
        }
        msg.take_required(required)?;
        msg.media = media(params);
        Ok(msg)
    }

    /// Where a known parameter goes: a field of the message, or one of `required`; `None`
    /// for a parameter this type does not name.
    fn slot<'m>(
        &'m mut self,
        name: &str,
        required: &'m mut Required,
    ) -> Option<&'m mut Option<String>> {
        Some(match name {
            "MessageSid" => &mut self.message_sid,
            "SmsSid" => &mut self.sms_sid,
            "AccountSid" => &mut self.account_sid,
            "MessagingServiceSid" => &mut self.messaging_service_sid,
            "From" => &mut required.from,
            "To" => &mut required.to,
            "Body" => &mut required.body,
            "NumMedia" => &mut self.num_media,
            "NumSegments" => &mut self.num_segments,
            "ProfileName" => &mut self.profile_name,
            "WaId" => &mut self.wa_id,
            "MessageStatus" => &mut self.message_status,
            "OptOutType" => &mut self.opt_out_type,
            "ErrorCode" => &mut self.error_code,
            _ => return None,
        })
    }

    /// Keeps a parameter this type does not name for Studio flows; the media parameters are
    /// read as [`Media`] instead.
    #[cfg(feature = "studio")]
    fn keep_other(&mut self, name: &str, value: &str) {
        if !name.starts_with("MediaUrl") && !name.starts_with("MediaContentType") {
            self.other.push((name.to_string(), value.to_string()));
        }
    }

    /// Takes `From`, `To` and `Body` (absent is empty), refusing a message without a sender
    /// or a recipient.
    fn take_required(&mut self, required: Required) -> Result<(), ParamsError> {
        self.from = present(required.from, "From")?;
        self.to = present(required.to, "To")?;
        self.body = required.body.unwrap_or_default();
        Ok(())
    }
}

/// A required parameter's value; absent or blank, it is [`ParamsError::Missing`].
fn present(value: Option<String>, name: &'static str) -> Result<String, ParamsError> {
    let value = value.unwrap_or_default();
    if value.trim().is_empty() {
        return Err(ParamsError::Missing(name));
    }
    Ok(value)
}

/// Sets a known parameter's field: a second value for it is malformed.
fn fill(field: &mut Option<String>, name: &str, value: &str) -> Result<(), ParamsError> {
    if field.is_some() {
        return Err(ParamsError::Malformed(format!("duplicate field `{name}`")));
    }
    *field = Some(value.to_string());
    Ok(())
}

/// The message's media items (`MediaUrl{N}` with its `MediaContentType{N}`), in index order.
fn media(params: &Params<'_>) -> Vec<Media> {
    let mut items: Vec<(usize, Media)> = params
        .iter()
        .filter_map(|(k, v)| media_item(params, k, v))
        .collect();
    sort_by_index(&mut items);
    items.into_iter().map(|(_, m)| m).collect()
}

/// The media item a `MediaUrl{N}` parameter names, with its index; `None` for any other.
fn media_item(params: &Params<'_>, name: &str, url: &str) -> Option<(usize, Media)> {
    let index = media_index(name, "MediaUrl")?;
    let media = Media {
        url: url.to_string(),
        content_type: content_type(params, index),
    };
    Some((index, media))
}

/// The `MediaContentType{index}` parameter's value, when given.
fn content_type(params: &Params<'_>, index: usize) -> Option<String> {
    params
        .iter()
        .find(|(ck, _)| media_index(ck, "MediaContentType") == Some(index))
        .map(|(_, ct)| ct.to_string())
}

/// The index `N` of a media parameter named `{prefix}N`; `None` for any other name.
fn media_index(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?.parse::<usize>().ok()
}

/// An insertion sort by index: a message has at most 10 media items, and the slice sort's
/// code is 4 KB of wasm beside the one the signature already carries.
fn sort_by_index(items: &mut [(usize, Media)]) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && items[j - 1].0 > items[j].0 {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests;
