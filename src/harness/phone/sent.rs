//! What the worker sends on its own (starts, follow-ups): the settings it needs, a Messages API
//! that takes every message, and the messages read back as Twilio got them.

use std::rc::Rc;

use super::{set_up, TestPhone};
use crate::conversation::ClientRequest;
use crate::harness::{TEST_ACCOUNT_SID, TEST_OUTBOUND_API_KEY};

/// One message the worker sent through Twilio's Messages API (a start, a follow-up, a late
/// send), read back from the Create Message form: what Twilio was asked to deliver.
///
/// ```
/// use sms_conversation_worker::conversations::Survey;
/// use sms_conversation_worker::harness::{SentMessage, TestPhone};
///
/// let mut phone = TestPhone::new::<Survey>(&[("SURVEY_REMINDER_SECONDS", "60")])
///     .unwrap()
///     .with_objects()
///     .with_outbound();
/// phone.text("hi");
/// phone.wait(61); // the reminder's alarm fires
/// let sent: Vec<SentMessage> = phone.sent();
/// assert_eq!(sent[0].to, "+14155550100");
/// assert_eq!(sent[0].from, "+15005550006");
/// assert_eq!(sent[0].text(), "Just checking in: What's your name?");
/// assert!(sent[0].media.is_empty() && sent[0].template.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentMessage {
    /// `To`: the person's number (or `whatsapp:` address).
    pub to: String,
    /// `From`: your number; the `MessagingServiceSid` (`MG…`) when sent from a Messaging
    /// Service instead.
    pub from: String,
    /// `Body`, when the message has text (a template's text is Twilio's, so it has none).
    pub body: Option<String>,
    /// Each `MediaUrl`, in order.
    pub media: Vec<String>,
    /// The WhatsApp template sent instead of a free-form message, when one was.
    pub template: Option<SentTemplate>,
    /// `StatusCallback`: where Twilio reports the delivery, the URL to give
    /// [`TestPhone::status_callback`].
    pub status_callback: Option<String>,
}

/// A template sent instead of a free-form message: its `ContentSid` and `ContentVariables`.
///
/// ```
/// use sms_conversation_worker::harness::{SentMessage, SentTemplate};
///
/// let sent = SentMessage::from_form(b"To=whatsapp%3A%2B14155550100&From=whatsapp%3A%2B15005550006\
///     &ContentSid=HX0123&ContentVariables=%7B%221%22%3A%22Ada%22%7D");
/// let template = SentTemplate { content_sid: "HX0123".into(), variables: Some(r#"{"1":"Ada"}"#.into()) };
/// assert_eq!(sent.template, Some(template));
/// assert_eq!(sent.text(), "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentTemplate {
    /// `ContentSid`: the approved template (`HX…`).
    pub content_sid: String,
    /// `ContentVariables`: the JSON object filling the template's placeholders, when given.
    pub variables: Option<String>,
}

impl SentMessage {
    /// The message's text: its `Body`, or `""` when it has none (media only, a template).
    ///
    /// ```
    /// use sms_conversation_worker::harness::SentMessage;
    /// let photo = SentMessage::from_form(b"To=%2B1415&From=%2B1500&MediaUrl=https%3A%2F%2Fimg.test%2Fa.png");
    /// assert_eq!((photo.text(), photo.media.as_slice()), ("", &["https://img.test/a.png".to_string()][..]));
    /// ```
    pub fn text(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }

    /// Reads a Create Message form (`application/x-www-form-urlencoded`) as Twilio would:
    /// fields it does not know are left out, an undecodable form reads as an empty message.
    ///
    /// ```
    /// use sms_conversation_worker::harness::SentMessage;
    /// let sent = SentMessage::from_form(b"To=%2B14155550100&MessagingServiceSid=MG01&Body=Hi+%26+bye");
    /// assert_eq!((sent.from.as_str(), sent.text()), ("MG01", "Hi & bye"));
    /// ```
    pub fn from_form(form: &[u8]) -> SentMessage {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(form).unwrap_or_default();
        let mut sent = SentMessage::default();
        let mut service = None;
        let mut content_sid = None;
        let mut variables = None;
        for (name, value) in fields {
            match name.as_str() {
                "To" => sent.to = value,
                "From" => sent.from = value,
                "MessagingServiceSid" => service = Some(value),
                "Body" => sent.body = Some(value),
                "MediaUrl" => sent.media.push(value),
                "ContentSid" => content_sid = Some(value),
                "ContentVariables" => variables = Some(value),
                "StatusCallback" => sent.status_callback = Some(value),
                _ => {}
            }
        }
        if sent.from.is_empty() {
            sent.from = service.unwrap_or_default();
        }
        sent.template = content_sid.map(|content_sid| SentTemplate {
            content_sid,
            variables,
        });
        sent
    }
}

/// Whether `request` is a Create Message call: a POST to an account's `Messages.json`, at
/// whichever API origin (`TWILIO_API_BASE_URL`) the worker was given.
fn creates_a_message(request: &ClientRequest) -> bool {
    let path = request.url.split(['?', '#']).next().unwrap_or("");
    request.method.eq_ignore_ascii_case("POST")
        && path.contains("/2010-04-01/Accounts/")
        && path.ends_with("/Messages.json")
}

/// The vars [`TestPhone::with_outbound`] adds, under those the phone was given.
const OUTBOUND_VARS: [(&str, &str); 2] = [
    ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
    ("OUTBOUND_API_KEY", TEST_OUTBOUND_API_KEY),
];

impl TestPhone {
    /// The same phone set up to send messages itself, as starts, follow-ups and late sends do:
    /// `TWILIO_ACCOUNT_SID` is the webhooks' account ([`TEST_ACCOUNT_SID`]), `OUTBOUND_API_KEY`
    /// is [`TEST_OUTBOUND_API_KEY`] (so `POST /conversations` is on: [`TestPhone::start`]),
    /// and the fake Messages API answers every Create Message `201` with a new `SM…` sid.
    /// Vars the phone was given win over these, and so do answers you set for the Messages
    /// API's URL on [`TestPhone::http`] (a `429`, a refusal). Sending also needs the objects
    /// ([`TestPhone::with_objects`], before or after this).
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    ///
    /// let mut phone = TestPhone::new::<Counter>(&[]).unwrap().with_objects().with_outbound();
    /// let (status, _) = phone.start(r#"{"to": "+14155550100", "from": "+15005550006", "body": "Hello from us"}"#);
    /// assert_eq!(status, 201);
    /// assert_eq!(phone.sent()[0].text(), "Hello from us");
    /// // The person's answer continues the conversation the start began.
    /// assert_eq!(phone.text("hi").texts(), ["Hello, thanks for the new message."]);
    /// ```
    ///
    /// # Panics
    /// When the conversation refuses its vars with these added (it was built without them).
    pub fn with_outbound(mut self) -> Self {
        for (name, value) in OUTBOUND_VARS {
            self.vars
                .entry(name.to_string())
                .or_insert_with(|| value.to_string());
        }
        let setup = set_up(&self.build, &self.vars)
            .unwrap_or_else(|e| panic!("with_outbound: the worker refuses its vars: {e}"));
        self.setup = Rc::new(setup);
        if let Some(objects) = &mut self.objects {
            objects.rebind(Rc::clone(&self.setup), self.vars.clone());
        }
        let outbound = &self.setup.config.outbound;
        let account = outbound.account_sid.as_deref().unwrap_or(TEST_ACCOUNT_SID);
        let url = format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            outbound.api_base_url
        );
        self.http.take_messages_at(&url);
        self
    }

    /// `POST /conversations` with `json`, under the phone's `OUTBOUND_API_KEY` (set by
    /// [`TestPhone::with_outbound`]): the status and the body. `json` names the person (`to`)
    /// and your number (`from`); its other fields reach [`crate::conversation::Start::fields`].
    /// The opening message is in [`TestPhone::sent`]; the person's answer is a
    /// [`TestPhone::text`] from `to` (the phone's own number by default).
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    ///
    /// // Without OUTBOUND_API_KEY the route is off, and says what to set.
    /// let mut off = TestPhone::new::<Counter>(&[]).unwrap().with_objects();
    /// let (status, body) = off.start(r#"{"to": "+14155550100", "from": "+15005550006"}"#);
    /// assert_eq!(status, 404);
    /// assert!(body.contains("OUTBOUND_API_KEY"), "{body}");
    /// ```
    pub fn start(&mut self, json: &str) -> (u16, String) {
        let key = self
            .vars
            .get("OUTBOUND_API_KEY")
            .cloned()
            .unwrap_or_default();
        self.start_conversation(&key, json)
    }

    /// Every message the worker sent through Twilio's Messages API so far, in order, decoded:
    /// the starts' opening messages, the follow-ups and late sends. Each Create Message call
    /// counts, the ones the API refused too (a send retried after a `429` shows each time).
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Survey;
    /// use sms_conversation_worker::harness::TestPhone;
    ///
    /// let mut phone = TestPhone::new::<Survey>(&[("SURVEY_REMINDER_SECONDS", "60")])
    ///     .unwrap()
    ///     .with_outbound()
    ///     .with_objects();
    /// phone.text("hi");
    /// phone.wait(59);
    /// assert!(phone.sent().is_empty(), "not before the delay");
    /// phone.wait(2); // due a second after the delay
    /// let texts: Vec<String> = phone.sent().iter().map(|m| m.text().to_string()).collect();
    /// assert_eq!(texts, ["Just checking in: What's your name?"]);
    /// ```
    pub fn sent(&self) -> Vec<SentMessage> {
        self.http
            .requests()
            .iter()
            .filter(|r| creates_a_message(r))
            .map(|r| SentMessage::from_form(&r.body))
            .collect()
    }
}

#[cfg(test)]
mod tests;
