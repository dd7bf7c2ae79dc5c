//! What a conversation answers: zero or more messages, each text and/or media.

use serde::{Deserialize, Serialize};

/// Twilio refuses message bodies over 1600 characters.
pub const MAX_REPLY_CHARS: usize = 1600;
/// Twilio sends at most 10 media items per message.
pub const MAX_MEDIA: usize = 10;

/// An approved WhatsApp template (Twilio Content API): what may be sent to a WhatsApp pair
/// more than 24 hours after the person's last message, instead of free-form text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The template's Content SID (`HX…`).
    pub content_sid: String,
    /// Its variables as a JSON object in a string (`{"1":"Ada"}`), or empty for none.
    pub content_variables: String,
}

/// One outgoing message: a text (cut to [`MAX_REPLY_CHARS`]) and up to [`MAX_MEDIA`] media
/// URLs. The fields are private so no message can bypass the limits.
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// let photo = ReplyMessage::text("Your table").with_media("https://img.test/table.jpg");
/// assert_eq!((photo.body(), photo.media()), ("Your table", &["https://img.test/table.jpg".to_string()][..]));
/// // Twilio's limit: a longer text is cut to 1600 characters.
/// assert_eq!(ReplyMessage::text("x".repeat(2000)).body().chars().count(), 1600);
/// // One reply, two messages.
/// let reply = Reply::text("Booked.").then_message(photo);
/// assert_eq!(reply.texts(), ["Booked.", "Your table"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyMessage {
    /// The text, already cut to [`MAX_REPLY_CHARS`].
    body: String,
    /// The media URLs, at most [`MAX_MEDIA`].
    media: Vec<String>,
}

impl ReplyMessage {
    /// A text message, cut to Twilio's 1600-character limit on a character boundary.
    pub fn text(text: impl Into<String>) -> Self {
        ReplyMessage {
            body: cut(text.into()),
            media: Vec::new(),
        }
    }

    /// Adds a media URL (`<Media>`); beyond [`MAX_MEDIA`] items they are dropped.
    pub fn with_media(mut self, url: impl Into<String>) -> Self {
        if self.media.len() < MAX_MEDIA {
            self.media.push(url.into());
        }
        self
    }

    /// The text.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The media URLs.
    pub fn media(&self) -> &[String] {
        &self.media
    }

    /// Bytes of text this message keeps in the state (its turn).
    pub(crate) fn text_bytes(&self) -> usize {
        self.body.len() + self.media.iter().map(String::len).sum::<usize>()
    }
}

/// `body` cut to [`MAX_REPLY_CHARS`] on a character boundary.
fn cut(mut body: String) -> String {
    if let Some((at, _)) = body.char_indices().nth(MAX_REPLY_CHARS) {
        body.truncate(at);
    }
    body
}

/// What to send back: zero or more messages, rendered as TwiML `<Message>` elements.
///
/// ```
/// use sms_conversation_worker::conversation::Reply;
/// let reply = Reply::text("Here is your cat.").with_media("https://cats.example/1.jpg");
/// assert_eq!(reply.messages()[0].media(), ["https://cats.example/1.jpg"]);
/// let two = Reply::text("One.").then("Two.");
/// assert_eq!(two.messages().len(), 2);
/// assert!(Reply::none().is_empty());
/// assert_eq!(Reply::text("é".repeat(2000)).messages()[0].body().chars().count(), 1600);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The messages, in the order they are sent (none: silence).
    messages: Vec<ReplyMessage>,
    /// Seconds after which [`crate::conversation::Conversation::follow_up`] runs unless the
    /// person answers first. Not kept with the turn: a retry schedules nothing.
    #[serde(skip)]
    follow_up: Option<u64>,
    /// The WhatsApp template sent instead, outside the pair's 24-hour window. Not kept with
    /// the turn either: only a send through the Messages API reads it.
    #[serde(skip)]
    template: Option<Template>,
}

impl Reply {
    /// Whether it holds what sealing leaves out (its follow-up, its template).
    #[cfg(cookie_memory)]
    pub(crate) fn has_unsealed(&self) -> bool {
        self.follow_up.is_some() || self.template.is_some()
    }

    /// Leaves out what sealing leaves out: the reply as a sealed record gives it back.
    #[cfg(cookie_memory)]
    pub(crate) fn drop_unsealed(&mut self) {
        self.follow_up = None;
        self.template = None;
    }

    /// One text message.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::from_messages(vec![ReplyMessage::text(text)])
    }

    /// No reply at all (an empty `<Response/>`).
    pub fn none() -> Self {
        Reply::default()
    }

    /// Adds another text message after the ones already in the reply.
    pub fn then(mut self, text: impl Into<String>) -> Self {
        self.messages.push(ReplyMessage::text(text));
        self
    }

    /// Adds a message built with [`ReplyMessage`]'s own methods.
    pub fn then_message(mut self, message: ReplyMessage) -> Self {
        self.messages.push(message);
        self
    }

    /// Adds a media URL to the last message (to a new, text-less message in an empty reply).
    pub fn with_media(mut self, url: impl Into<String>) -> Self {
        let last = self.messages.pop().unwrap_or_default();
        self.messages.push(last.with_media(url));
        self
    }

    /// Asks for [`crate::conversation::Conversation::follow_up`] to run after `delay` unless
    /// the person texts first (a newer message cancels or replaces it). It needs the Durable
    /// Objects binding (`CONVERSATION_OBJECTS`); without it the request is ignored and logged.
    pub fn follow_up_after(mut self, delay: std::time::Duration) -> Self {
        self.follow_up = Some(delay.as_secs().max(1));
        self
    }

    /// What to send instead when this reply goes through the Messages API to a WhatsApp pair
    /// more than 24 hours after the person's last message, where WhatsApp allows only an
    /// approved template (error 63016 otherwise): the template's Content SID (`HX…`) and its
    /// variables as a JSON object (`r#"{"1":"Ada"}"#`, or `""` for none). Without one (and
    /// without `WHATSAPP_TEMPLATE_SID`) such a follow-up or start is not sent, and logged.
    pub fn with_template(
        mut self,
        content_sid: impl Into<String>,
        content_variables: impl Into<String>,
    ) -> Self {
        self.template = Some(Template {
            content_sid: content_sid.into(),
            content_variables: content_variables.into(),
        });
        self
    }

    /// The template given with [`Reply::with_template`].
    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The follow-up delay asked for, in seconds.
    pub fn follow_up(&self) -> Option<u64> {
        self.follow_up
    }

    /// The messages, in order.
    pub fn messages(&self) -> &[ReplyMessage] {
        &self.messages
    }

    /// True when nothing is sent.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every message's text, for tests and logs of your own.
    pub fn texts(&self) -> Vec<&str> {
        self.messages.iter().map(ReplyMessage::body).collect()
    }

    /// The bytes of text the reply adds to a record, for the history's byte limit.
    pub(crate) fn text_bytes(&self) -> usize {
        self.messages.iter().map(ReplyMessage::text_bytes).sum()
    }

    /// Each message's text replaced by what `f` returns for it (`None`: kept), still cut to
    /// [`MAX_REPLY_CHARS`]; media and the follow-up stay.
    #[cfg(feature = "smart-encoding")]
    pub(crate) fn map_texts(mut self, mut f: impl FnMut(&str) -> Option<String>) -> Self {
        for message in &mut self.messages {
            if let Some(body) = f(&message.body) {
                message.body = cut(body);
            }
        }
        self
    }

    /// A reply of `messages` as they were kept (old records, the inspector): no follow-up,
    /// no template, and the texts not cut again.
    pub(crate) fn from_messages(messages: Vec<ReplyMessage>) -> Self {
        Reply {
            messages,
            follow_up: None,
            template: None,
        }
    }
}
