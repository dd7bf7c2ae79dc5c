//! Sending a message ourselves through Twilio's Messages API: for follow-ups and for
//! conversations the worker starts (Twilio sets no cookie on these; the pair's Durable Object
//! keeps the state instead).
//!
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`, `From`, `Body`
//! and `MediaUrl`s, HTTP basic auth with the account and its auth token, or an API key.

use std::fmt;

use serde::Deserialize;

use crate::conversation::{
    ClientError, ClientRequest, ClientResponse, HttpClient, ReplyMessage, Template,
};

/// Twilio's API origin; regional edges (`https://api.dublin.ie1.twilio.com`) and tests
/// change it with `TWILIO_API_BASE_URL`.
pub const DEFAULT_API_BASE_URL: &str = "https://api.twilio.com";

/// How the worker authenticates to the Messages API.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The basic-auth user: the AccountSid, or an API key's SID (`SK…`).
    pub user: String,
    /// The auth token, or the API key's secret.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.user)
    }
}

/// Why a message was not sent, or may not have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Twilio answered with an error: its HTTP status and, when it said, its error code
    /// (21211 invalid To, 21610 the person opted out, 63016 outside WhatsApp's window, …) and
    /// message. A 2xx here is an answer without a Message SID.
    Refused {
        /// HTTP status.
        status: u16,
        /// Twilio's error code.
        code: Option<u32>,
        /// Twilio's message.
        message: String,
    },
    /// No answer in time, or the network failed.
    Unreachable(ClientError),
}

/// What a failed send means for the message: Create Message is not idempotent, so only a
/// request Twilio certainly did not act on may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFate {
    /// Certainly not sent, and worth trying again later: a 429 (Too Many Requests), or a
    /// connection refused before the request was written.
    NotSentRetry,
    /// Certainly not sent, and never will be as it stands: a 4xx refusal.
    Refused,
    /// Maybe sent: a timeout, a 5xx, a connection lost after writing, an unreadable 2xx.
    /// Find out before sending it again.
    Unknown,
}

/// Twilio's error code for a recipient who opted out (texted STOP).
pub const OPTED_OUT: u32 = 21610;
/// Twilio's error code for a free-form WhatsApp message outside the 24-hour window.
pub const OUTSIDE_WINDOW: u32 = 63016;

impl SendError {
    /// What this failure means for the message.
    pub fn fate(&self) -> SendFate {
        match self {
            SendError::Refused { status: 429, .. } => SendFate::NotSentRetry,
            SendError::Refused { status, .. } if (400..500).contains(status) => SendFate::Refused,
            SendError::Refused { .. } => SendFate::Unknown,
            SendError::Unreachable(e) if e.certainly_not_sent() => SendFate::NotSentRetry,
            SendError::Unreachable(_) => SendFate::Unknown,
        }
    }

    /// Twilio's error code, when it gave one.
    pub fn code(&self) -> Option<u32> {
        match self {
            SendError::Refused { code, .. } => *code,
            SendError::Unreachable(_) => None,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Twilio's words can hold the number it refused (error 21211): never a full one.
        match self {
            SendError::Refused {
                status,
                code,
                message,
            } => write_refusal(f, *status, *code, message),
            SendError::Unreachable(e) => write_unreachable(f, e),
        }
    }
}

/// A send that got no answer, the client's words masked as Twilio's are.
fn write_unreachable(f: &mut fmt::Formatter<'_>, e: &ClientError) -> fmt::Result {
    let why = crate::mask::mask_numbers(&e.to_string());
    write!(f, "Twilio's Messages API did not answer: {why}")
}

/// A refusal's text, with Twilio's error code when it gave one and its words masked.
fn write_refusal(
    f: &mut fmt::Formatter<'_>,
    status: u16,
    code: Option<u32>,
    message: &str,
) -> fmt::Result {
    let message = crate::mask::mask_numbers(message);
    match code {
        Some(code) => write!(
            f,
            "Twilio refused the message ({status}, error {code}): {message}"
        ),
        None => write!(f, "Twilio refused the message ({status}): {message}"),
    }
}

#[derive(Deserialize)]
struct Sent {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<u32>,
    message: Option<String>,
}

/// The form of one Create Message request, without the credentials: kept as it is so a
/// message sent again is the very same message.
pub type Form = Vec<(String, String)>;

/// The form that sends `message` (or `template` instead, when given) from `from` to `to`,
/// with Twilio reporting its delivery to `status_callback`.
///
/// ```
/// use sms_conversation_worker::conversation::ReplyMessage;
/// use sms_conversation_worker::twilio::messages::form;
/// let msg = ReplyMessage::text("Hi & bye").with_media("https://x.test/a.png");
/// let form = form("+1555", "+1444", &msg, None, Some("https://w.test/sms/status?o=1"));
/// let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
/// assert_eq!(names, ["To", "From", "Body", "MediaUrl", "StatusCallback"]);
/// ```
pub fn form(
    to: &str,
    from: &str,
    message: &ReplyMessage,
    template: Option<&Template>,
    status_callback: Option<&str>,
) -> Form {
    let mut form: Form = vec![("To".into(), to.into()), ("From".into(), from.into())];
    match template {
        Some(t) => push_template(&mut form, t),
        None => push_message(&mut form, message),
    }
    if let Some(url) = status_callback {
        form.push(("StatusCallback".into(), url.into()));
    }
    form
}

/// A template's fields: Twilio fills in the text from the Content SID and its variables.
fn push_template(form: &mut Form, t: &Template) {
    form.push(("ContentSid".into(), t.content_sid.clone()));
    if !t.content_variables.is_empty() {
        form.push(("ContentVariables".into(), t.content_variables.clone()));
    }
}

/// A free-form message's fields: its body, when it has one, and each media URL.
fn push_message(form: &mut Form, message: &ReplyMessage) {
    if !message.body().is_empty() {
        form.push(("Body".into(), message.body().into()));
    }
    for url in message.media() {
        form.push(("MediaUrl".into(), url.clone()));
    }
}

/// Where the account's messages are.
fn messages_url(base_url: &str, account_sid: &str) -> String {
    format!(
        "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
        base_url.trim_end_matches('/')
    )
}

fn authorized(req: ClientRequest, credentials: &Credentials) -> ClientRequest {
    let auth =
        crate::b64::standard(format!("{}:{}", credentials.user, credentials.password).as_bytes());
    req.header("authorization", format!("Basic {auth}"))
}

/// The request that sends `form`.
///
/// ```
/// use sms_conversation_worker::conversation::ReplyMessage;
/// use sms_conversation_worker::twilio::messages::{form, request, Credentials};
/// let creds = Credentials { user: "AC123".into(), password: "token".into() };
/// let msg = ReplyMessage::text("Hi & bye").with_media("https://x.test/a.png");
/// let req = request("https://api.twilio.com", "AC123", &creds, &form("+1555", "+1444", &msg, None, None));
/// assert_eq!(req.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
/// assert_eq!(
///     String::from_utf8(req.body).unwrap(),
///     "To=%2B1555&From=%2B1444&Body=Hi+%26+bye&MediaUrl=https%3A%2F%2Fx.test%2Fa.png"
/// );
/// ```
pub fn request(
    base_url: &str,
    account_sid: &str,
    credentials: &Credentials,
    form: &Form,
) -> ClientRequest {
    let body = serde_urlencoded::to_string(form).unwrap_or_default();
    let req = ClientRequest::get(messages_url(base_url, account_sid));
    posting(authorized(req, credentials), body)
}

/// `req` made a POST of the form-encoded `body`.
fn posting(req: ClientRequest, body: String) -> ClientRequest {
    let mut req = req.header("content-type", "application/x-www-form-urlencoded");
    req.method = "POST".into();
    req.body = body.into_bytes();
    req
}

/// Sends `form` once and returns the Message SID. Never sends twice: what a failure means
/// is [`SendError::fate`]'s to say and the caller's to act on.
pub async fn send(
    http: &dyn HttpClient,
    base_url: &str,
    account_sid: &str,
    credentials: &Credentials,
    form: &Form,
) -> Result<String, SendError> {
    let req = request(base_url, account_sid, credentials, form);
    let response = http.send(req).await.map_err(SendError::Unreachable)?;
    if response.is_success() {
        return sent_sid(&response);
    }
    Err(refusal(&response))
}

/// The Message SID of a successful answer; an answer without one is a refusal that may
/// have sent the message.
fn sent_sid(response: &ClientResponse) -> Result<String, SendError> {
    serde_json::from_slice::<Sent>(&response.body)
        .map(|sent| sent.sid)
        .map_err(|e| unreadable(response, format!("an answer without a Message SID ({e})")))
}

/// A successful answer that could not be read, as a refusal without Twilio's error code.
fn unreadable(response: &ClientResponse, message: String) -> SendError {
    SendError::Refused {
        status: response.status,
        code: None,
        message,
    }
}

/// An error answer as a refusal: Twilio's code and message when its JSON says, else the
/// start of the body.
fn refusal(response: &ClientResponse) -> SendError {
    let error = serde_json::from_slice::<TwilioError>(&response.body).ok();
    SendError::Refused {
        status: response.status,
        code: error.as_ref().and_then(|e| e.code),
        message: error
            .and_then(|e| e.message)
            .unwrap_or_else(|| body_excerpt(&response.body)),
    }
}

/// The first 200 characters of a body that is not Twilio's error JSON.
fn body_excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    messages: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    sid: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    body: Option<String>,
}

/// Looks for a message sent as `form` since the day before `since` (Unix seconds) among the
/// account's messages, skipping the SIDs in `known` (messages already accounted for):
/// `Some(sid)` when Twilio has it, `None` when it certainly has no such message.
///
/// The list filters by day only (`DateSent>`), and a template's text is Twilio's to fill,
/// so a template matches on its pair alone.
pub async fn find_sent(
    http: &dyn HttpClient,
    base_url: &str,
    account_sid: &str,
    credentials: &Credentials,
    form: &Form,
    since: u64,
    known: &[&str],
) -> Result<Option<String>, SendError> {
    let (to, from) = (
        field(form, "To").unwrap_or(""),
        field(form, "From").unwrap_or(""),
    );
    let url = list_url(base_url, account_sid, to, from, since);
    let page = list_page(http, url, credentials).await?;
    let body = field(form, "Body");
    let template = field(form, "ContentSid").is_some();
    Ok(page
        .messages
        .into_iter()
        .find(|m| m.is_sent_as(to, from, body, template) && !known.contains(&m.sid.as_str()))
        .map(|m| m.sid))
}

/// The first page of the list at `url`.
async fn list_page(
    http: &dyn HttpClient,
    url: String,
    credentials: &Credentials,
) -> Result<Page, SendError> {
    let response = http
        .send(authorized(ClientRequest::get(url), credentials))
        .await
        .map_err(SendError::Unreachable)?;
    if !response.is_success() {
        return Err(refusal(&response));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| unreadable(&response, format!("an unreadable list of messages ({e})")))
}

/// The value of the form's field `name`, when it has one.
fn field<'f>(form: &'f Form, name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The list of the pair's messages sent since the day before `since`: the list filters by
/// day only.
fn list_url(base_url: &str, account_sid: &str, to: &str, from: &str, since: u64) -> String {
    let query = serde_urlencoded::to_string([
        ("To", to),
        ("From", from),
        ("DateSent>", &civil_date(since.saturating_sub(86_400))),
        ("PageSize", "100"),
    ])
    .unwrap_or_default();
    format!("{}?{query}", messages_url(base_url, account_sid))
}

impl Listed {
    /// Whether this listed message is one sent from `from` to `to` with `body` (any text
    /// for a template, whose text is Twilio's to fill).
    fn is_sent_as(&self, to: &str, from: &str, body: Option<&str>, template: bool) -> bool {
        self.to == to
            && self.from == from
            && (template || self.body.as_deref().unwrap_or("") == body.unwrap_or(""))
    }
}

/// `YYYY-MM-DD` (UTC) of Unix seconds `t`: the days-to-civil conversion of the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_date(t: u64) -> String {
    let z = (t / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests;
