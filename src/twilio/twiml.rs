//! Rendering a [`Reply`] as TwiML, the XML Twilio expects back.
//!
//! The declaration must be the very first bytes (whitespace before `<?xml` is Twilio error
//! 12100), and text is escaped by `quick-xml` so a reply quoting the user's `<` or `&`
//! stays valid XML.

use quick_xml::escape::partial_escape;

use crate::conversation::{Reply, ReplyMessage};

/// The `Content-Type` Twilio accepts for TwiML (`text/plain` would be sent as the text).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Renders `reply` as a TwiML `<Response>`: a text-only message as `<Message>text</Message>`,
/// one with media as `<Message><Body>…</Body><Media>url</Media>…</Message>`.
///
/// ```
/// use sms_conversation_worker::conversation::Reply;
/// use sms_conversation_worker::twilio::twiml::render;
/// assert_eq!(
///     render(&Reply::text("Tom & Jerry <3")),
///     r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tom &amp; Jerry &lt;3</Message></Response>"#,
/// );
/// assert_eq!(
///     render(&Reply::text("Cat").with_media("https://x.example/c.jpg?a=1&b=2")),
///     r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message><Body>Cat</Body><Media>https://x.example/c.jpg?a=1&amp;b=2</Media></Message></Response>"#,
/// );
/// assert_eq!(render(&Reply::none()), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
/// ```
pub fn render(reply: &Reply) -> String {
    let messages = reply.messages();
    let mut xml = String::with_capacity(capacity(messages));
    xml.push_str(DECLARATION);
    if messages.is_empty() {
        xml.push_str("<Response/>");
        return xml;
    }
    xml.push_str("<Response>");
    for message in messages {
        push_message(&mut xml, message);
    }
    xml.push_str("</Response>");
    xml
}

/// TwiML that sends nothing: the answer to a message whose reply goes (or went) another way
/// (late, through the Messages API), a retry of it, or a status callback.
///
/// ```
/// use sms_conversation_worker::twilio::twiml::empty;
/// assert_eq!(empty(), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
/// ```
pub fn empty() -> String {
    render(&Reply::none())
}

/// Room for the whole document, so it is written without growing: the text and 40 bytes
/// of markup a message.
fn capacity(messages: &[ReplyMessage]) -> usize {
    DECLARATION.len() + 40 + messages.iter().map(|m| m.text_bytes() + 40).sum::<usize>()
}

/// One `<Message>`: its text alone, or its body and media as elements of their own.
fn push_message(xml: &mut String, message: &ReplyMessage) {
    xml.push_str("<Message>");
    if message.media().is_empty() {
        push_text(xml, message.body());
    } else {
        push_body_and_media(xml, message);
    }
    xml.push_str("</Message>");
}

/// A message with media: `<Body>` (unless empty), then a `<Media>` for each URL.
fn push_body_and_media(xml: &mut String, message: &ReplyMessage) {
    if !message.body().is_empty() {
        push_element(xml, "<Body>", message.body(), "</Body>");
    }
    for url in message.media() {
        push_element(xml, "<Media>", url, "</Media>");
    }
}

/// `text` escaped between the `open` and `close` tags.
fn push_element(xml: &mut String, open: &str, text: &str, close: &str) {
    xml.push_str(open);
    push_text(xml, text);
    xml.push_str(close);
}

/// XML 1.0 has no escape for most control characters (a template's {from}, a name, an
/// echoed body can carry them): Twilio would fail to parse the document (error 12100), so
/// they are dropped.
fn push_text(xml: &mut String, text: &str) {
    if text.chars().all(is_xml_char) {
        xml.push_str(&partial_escape(text));
    } else {
        let text: String = text.chars().filter(|&c| is_xml_char(c)).collect();
        xml.push_str(&partial_escape(text.as_str()));
    }
}

/// Characters XML 1.0 allows in text (its `Char` production; no `char` is a surrogate).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests;
