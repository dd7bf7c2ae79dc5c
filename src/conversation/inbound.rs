//! The message a conversation answers, as Twilio described it: part of the conversation API
//! ([`Conversation::reply`](super::Conversation::reply) takes it). Twilio's webhook
//! parameters become one in `twilio::params` (`InboundMessage::from_params`).

/// One media item of an MMS (`MediaUrl{N}` / `MediaContentType{N}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Media {
    /// Where Twilio stores the file.
    pub url: String,
    /// Its MIME type, when Twilio gave one.
    pub content_type: Option<String>,
}

/// An incoming SMS/MMS as Twilio describes it. Fields Twilio did not send are `None`.
/// Serialisable, so the worker hands the message it parsed to the pair's object.
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// /// Answers with what Twilio said about the message.
/// struct Echo;
///
/// impl Conversation for Echo {
///     const NAME: &'static str = "echo";
///     type State = ();
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Echo)
///     }
///     async fn reply(&self, msg: &InboundMessage, _: &View<'_>, _: &mut (), _: &Context<'_>) -> Reply {
///         Reply::text(format!("{} wrote {:?} to {}", msg.from, msg.body, msg.to))
///     }
/// }
///
/// let mut phone = TestPhone::new::<Echo>(&[]).unwrap();
/// assert_eq!(phone.text("hi").texts(), [r#"+14155550100 wrote "hi" to +15005550006"#]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboundMessage {
    /// `MessageSid`: the message's id (`SM…`/`MM…`); the same on a retried delivery.
    pub message_sid: Option<String>,
    /// `SmsSid`: deprecated twin of `MessageSid`, used when `MessageSid` is absent.
    pub sms_sid: Option<String>,
    /// `AccountSid`: the Twilio account the number belongs to.
    pub account_sid: Option<String>,
    /// `MessagingServiceSid`: set when the number belongs to a Messaging Service.
    pub messaging_service_sid: Option<String>,
    /// `From`: the sender, in E.164 (`+14155550100`) or a channel address (`whatsapp:+1…`).
    pub from: String,
    /// `To`: your Twilio number.
    pub to: String,
    /// `Body`: the text, up to 1600 characters; empty for a media-only MMS.
    pub body: String,
    /// `NumMedia`: how many media items, as Twilio sent it.
    pub num_media: Option<String>,
    /// `NumSegments`: how many SMS segments the text took.
    pub num_segments: Option<String>,
    /// `ProfileName`: WhatsApp sender's profile name.
    pub profile_name: Option<String>,
    /// `WaId`: WhatsApp sender's WhatsApp id (their number without `+`).
    pub wa_id: Option<String>,
    /// `MessageStatus`: set on status callbacks (`sent`, `delivered`, `failed`, …), which are
    /// not messages.
    pub message_status: Option<String>,
    /// `OptOutType`: set by Twilio's Advanced Opt-Out (`STOP`, `START`, `HELP`).
    pub opt_out_type: Option<String>,
    /// `ErrorCode`: on a status callback of a failed or undelivered message.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Media items in index order (from the `MediaUrl{N}` and `MediaContentType{N}`
    /// parameters).
    pub media: Vec<Media>,
    /// Every other parameter, in the order Twilio sent them (`FromCity`, `SmsStatus`, …):
    /// a Studio flow reads them all as `trigger.message.*`. Only the `studio` feature has them,
    /// and the webhook fills them only for a conversation that reads them
    /// ([`Conversation::READS_OTHER_PARAMS`](super::Conversation::READS_OTHER_PARAMS)).
    #[cfg(feature = "studio")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<(String, String)>,
}

impl InboundMessage {
    /// `MessageSid`, or the deprecated `SmsSid`, or empty.
    pub fn sid(&self) -> &str {
        self.message_sid
            .as_deref()
            .or(self.sms_sid.as_deref())
            .unwrap_or("")
    }

    /// True for a status callback pointed at this URL: it reports on a message we sent
    /// and must not count as, or be answered like, a message from the person.
    pub fn is_status_callback(&self) -> bool {
        self.message_status.as_deref().is_some_and(|s| {
            !s.eq_ignore_ascii_case("received") && !s.eq_ignore_ascii_case("receiving")
        })
    }

    /// `AccountSid`, or empty.
    pub fn account(&self) -> &str {
        self.account_sid.as_deref().unwrap_or("")
    }
}
