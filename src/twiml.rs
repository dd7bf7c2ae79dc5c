//! Rendering a [`Reply`] as TwiML, the XML Twilio expects back.
//!
//! The declaration must be the very first bytes (whitespace before `<?xml` is Twilio error
//! 12100), and text is escaped by `quick-xml` so a reply quoting the user's `<` or `&`
//! stays valid XML.

use quick_xml::escape::partial_escape;

use crate::conversation::Reply;

/// The `Content-Type` Twilio accepts for TwiML (`text/plain` would be sent as the text).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Renders `reply` as a TwiML `<Response>`.
///
/// ```
/// use sms_conversation_worker::conversation::Reply;
/// use sms_conversation_worker::twiml::render;
/// assert_eq!(
///     render(&Reply::text("Tom & Jerry <3")),
///     r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Tom &amp; Jerry &lt;3</Message></Response>"#,
/// );
/// assert_eq!(render(&Reply::none()), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
/// ```
pub fn render(reply: &Reply) -> String {
    let mut xml = String::with_capacity(
        DECLARATION.len() + 40 + reply.messages.iter().map(|m| m.len() + 19).sum::<usize>(),
    );
    xml.push_str(DECLARATION);
    if reply.messages.is_empty() {
        xml.push_str("<Response/>");
        return xml;
    }
    xml.push_str("<Response>");
    for message in &reply.messages {
        xml.push_str("<Message>");
        xml.push_str(&partial_escape(message.as_str()));
        xml.push_str("</Message>");
    }
    xml.push_str("</Response>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped_and_the_rest_kept() {
        let xml = render(&Reply::text("<b>\"quotes\" & 'apostrophes'</b> 👋"));
        assert!(
            xml.contains("<Message>&lt;b&gt;\"quotes\" &amp; 'apostrophes'&lt;/b&gt; 👋</Message>")
        );
    }

    #[test]
    fn several_messages_become_several_elements() {
        let reply = Reply {
            messages: vec!["one".into(), "two".into()],
        };
        assert!(render(&reply)
            .ends_with("<Response><Message>one</Message><Message>two</Message></Response>"));
    }

    #[test]
    fn the_declaration_comes_first() {
        assert!(render(&Reply::text("x")).starts_with("<?xml"));
    }
}
