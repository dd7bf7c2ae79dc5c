//! Reading the worker's TwiML back into messages.

/// The messages of a TwiML document: each `<Message>`'s text (or `<Body>`) and `<Media>`,
/// read with quick-xml's reader, independently of how the worker writes them.
pub(super) fn parse_twiml(xml: &str) -> Vec<(String, Vec<String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut read = TwimlMessages::default();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => read.start(e.name().as_ref()),
            Ok(Event::End(e)) => read.end(e.name().as_ref()),
            Ok(Event::Text(t)) => read.text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => read.text(&reference(&r)),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    read.messages
}

/// The text of an entity or character reference: quick-xml hands them over unresolved, and
/// the worker escapes `&`, `<`, … in the replies it writes.
fn reference(r: &quick_xml::events::BytesRef<'_>) -> String {
    match r.as_ref() {
        "amp" => "&".to_string(),
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "quot" => "\"".to_string(),
        "apos" => "'".to_string(),
        _ => r
            .resolve_char_ref()
            .ok()
            .flatten()
            .map(String::from)
            .unwrap_or_default(),
    }
}

/// The messages [`parse_twiml`] has read so far, and where in them the reader is.
#[derive(Default)]
struct TwimlMessages {
    messages: Vec<(String, Vec<String>)>,
    in_media: bool,
    in_message: bool,
}

impl TwimlMessages {
    /// An element opens: a new message, or a new media URL in the current one.
    fn start(&mut self, name: &str) {
        match name {
            "Message" => {
                self.messages.push((String::new(), Vec::new()));
                self.in_message = true;
            }
            "Media" => {
                self.in_media = true;
                if let Some(m) = self.messages.last_mut() {
                    m.1.push(String::new());
                }
            }
            _ => {}
        }
    }

    /// An element closes: text that follows is no longer its.
    fn end(&mut self, name: &str) {
        match name {
            "Media" => self.in_media = false,
            "Message" => self.in_message = false,
            _ => {}
        }
    }

    /// Text (or a resolved reference): a media URL, or the message's text.
    fn text(&mut self, text: &str) {
        let Some(m) = self.messages.last_mut() else {
            return;
        };
        if self.in_media {
            if let Some(url) = m.1.last_mut() {
                url.push_str(text);
            }
        } else if self.in_message {
            m.0.push_str(text);
        }
    }
}
