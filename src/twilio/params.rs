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

/// Decodes `application/x-www-form-urlencoded` bytes (a POST body or a query string).
///
/// Percent-escapes that decode to invalid UTF-8 are an error rather than silently
/// becoming U+FFFD: a reply built from mangled text is worse than a clear 400.
pub fn parse_params(encoded: &[u8]) -> Result<Params<'_>, ParamsError> {
    let text =
        std::str::from_utf8(encoded).map_err(|_| ParamsError::Malformed("not UTF-8".into()))?;
    // Cheap bound before decoding anything: each parameter needs a separator.
    let separators = text.bytes().filter(|&b| b == b'&').count();
    if separators >= MAX_PARAMS {
        return Err(ParamsError::TooMany);
    }
    // The WHATWG rules, read by the `form_urlencoded` crate (serde_urlencoded's parser)
    // straight into the list, with no intermediate map or buffer.
    let mut params = Params::with_capacity(separators + 1);
    let mut replaced = false;
    for (name, value) in form_urlencoded::parse(encoded) {
        replaced |= name.contains('\u{FFFD}') || value.contains('\u{FFFD}');
        params.push((name, value));
    }
    // The escape of U+FFFD itself, in either case: compared bytewise, as a substring search
    // was 1.5 KB of wasm for this one check.
    let escaped_fffd = text
        .as_bytes()
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"%EF%BF%BD"));
    if replaced && !text.contains('\u{FFFD}') && !escaped_fffd {
        return Err(ParamsError::Malformed(
            "percent-escapes that are not UTF-8".into(),
        ));
    }
    Ok(params)
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
        let mut msg = InboundMessage::default();
        let (mut from, mut to, mut body) = (None, None, None);
        for (name, value) in params {
            let field = match name.as_ref() {
                "MessageSid" => &mut msg.message_sid,
                "SmsSid" => &mut msg.sms_sid,
                "AccountSid" => &mut msg.account_sid,
                "MessagingServiceSid" => &mut msg.messaging_service_sid,
                "From" => &mut from,
                "To" => &mut to,
                "Body" => &mut body,
                "NumMedia" => &mut msg.num_media,
                "NumSegments" => &mut msg.num_segments,
                "ProfileName" => &mut msg.profile_name,
                "WaId" => &mut msg.wa_id,
                "MessageStatus" => &mut msg.message_status,
                "OptOutType" => &mut msg.opt_out_type,
                "ErrorCode" => &mut msg.error_code,
                #[cfg(feature = "studio")]
                other
                    if !other.starts_with("MediaUrl") && !other.starts_with("MediaContentType") =>
                {
                    msg.other.push((other.to_string(), value.to_string()));
                    continue;
                }
                _ => continue,
            };
            if field.is_some() {
                return Err(ParamsError::Malformed(format!("duplicate field `{name}`")));
            }
            *field = Some(value.to_string());
        }
        msg.from = from.unwrap_or_default();
        msg.to = to.unwrap_or_default();
        msg.body = body.unwrap_or_default();
        if msg.from.trim().is_empty() {
            return Err(ParamsError::Missing("From"));
        }
        if msg.to.trim().is_empty() {
            return Err(ParamsError::Missing("To"));
        }
        msg.media = media(params);
        Ok(msg)
    }
}

fn media(params: &Params<'_>) -> Vec<Media> {
    let mut items: Vec<(usize, Media)> = params
        .iter()
        .filter_map(|(k, v)| {
            let index = k.strip_prefix("MediaUrl")?.parse::<usize>().ok()?;
            let content_type = params
                .iter()
                .find(|(ck, _)| {
                    ck.strip_prefix("MediaContentType")
                        .and_then(|i| i.parse::<usize>().ok())
                        == Some(index)
                })
                .map(|(_, ct)| ct.to_string());
            Some((
                index,
                Media {
                    url: v.to_string(),
                    content_type,
                },
            ))
        })
        .collect();
    // An insertion sort: a message has at most 10 media items, and the slice sort's code is
    // 4 KB of wasm beside the one the signature already carries.
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && items[j - 1].0 > items[j].0 {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
    items.into_iter().map(|(_, m)| m).collect()
}

#[cfg(test)]
mod tests;
