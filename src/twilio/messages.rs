//! Sending a message ourselves through Twilio's Messages API: for follow-ups and for
//! conversations the worker starts (Twilio sets no cookie on these; the pair's Durable Object
//! keeps the state instead).
//!
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`, `From`, `Body`
//! and `MediaUrl`s, HTTP basic auth with the account and its auth token, or an API key.

use std::fmt;

use serde::Deserialize;

use crate::conversation::{ClientError, ClientRequest, HttpClient, ReplyMessage};

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

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Twilio answered with an error: its HTTP status and, when it said, its error code
    /// (21211 invalid To, 21610 the person opted out, 20003 authentication, …) and message.
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

impl SendError {
    /// True for what is worth trying again: a 5xx, a 429 or no answer at all.
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Refused { status, .. } => *status >= 500 || *status == 429,
            SendError::Unreachable(_) => true,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Refused {
                status,
                code: Some(code),
                message,
            } => write!(
                f,
                "Twilio refused the message ({status}, error {code}): {message}"
            ),
            SendError::Refused {
                status, message, ..
            } => write!(f, "Twilio refused the message ({status}): {message}"),
            SendError::Unreachable(e) => write!(f, "Twilio's Messages API did not answer: {e}"),
        }
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

/// The request that sends `message` from `from` to `to`.
///
/// ```
/// use sms_conversation_worker::conversation::ReplyMessage;
/// use sms_conversation_worker::twilio::messages::{request, Credentials};
/// let creds = Credentials { user: "AC123".into(), password: "token".into() };
/// let msg = ReplyMessage::text("Hi & bye").with_media("https://x.test/a.png");
/// let req = request("https://api.twilio.com", "AC123", &creds, "+1555", "+1444", &msg);
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
    to: &str,
    from: &str,
    message: &ReplyMessage,
) -> ClientRequest {
    let mut form: Vec<(&str, &str)> = vec![("To", to), ("From", from)];
    if !message.body().is_empty() {
        form.push(("Body", message.body()));
    }
    for url in message.media() {
        form.push(("MediaUrl", url));
    }
    let body = serde_urlencoded::to_string(&form).unwrap_or_default();
    let auth =
        crate::b64::standard(format!("{}:{}", credentials.user, credentials.password).as_bytes());
    let mut req = ClientRequest::get(format!(
        "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
        base_url.trim_end_matches('/')
    ))
    .header("authorization", format!("Basic {auth}"))
    .header("content-type", "application/x-www-form-urlencoded");
    req.method = "POST".into();
    req.body = body.into_bytes();
    req
}

/// Sends `message` and returns its Message SID.
pub async fn send(
    http: &dyn HttpClient,
    base_url: &str,
    account_sid: &str,
    credentials: &Credentials,
    to: &str,
    from: &str,
    message: &ReplyMessage,
) -> Result<String, SendError> {
    let req = request(base_url, account_sid, credentials, to, from, message);
    let response = http.send(req).await.map_err(SendError::Unreachable)?;
    if response.is_success() {
        return match serde_json::from_slice::<Sent>(&response.body) {
            Ok(sent) => Ok(sent.sid),
            Err(e) => Err(SendError::Refused {
                status: response.status,
                code: None,
                message: format!("an answer without a Message SID ({e})"),
            }),
        };
    }
    let error = serde_json::from_slice::<TwilioError>(&response.body).ok();
    Err(SendError::Refused {
        status: response.status,
        code: error.as_ref().and_then(|e| e.code),
        message: error.and_then(|e| e.message).unwrap_or_else(|| {
            String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::{block_on, FakeHttp};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    const URL: &str = "https://api.test/2010-04-01/Accounts/AC1/Messages.json";

    fn creds() -> Credentials {
        Credentials {
            user: "AC1".into(),
            password: "tok".into(),
        }
    }

    fn send_to(http: &FakeHttp) -> Result<String, SendError> {
        let msg = ReplyMessage::text("hello");
        block_on(send(
            http,
            "https://api.test/",
            "AC1",
            &creds(),
            "+1555",
            "+1444",
            &msg,
        ))
    }

    #[test]
    fn a_sent_message_returns_its_sid_with_basic_auth() {
        let http = FakeHttp::default();
        http.respond(URL, 201, r#"{"sid": "SMabc", "status": "queued"}"#);
        assert_eq!(send_to(&http), Ok("SMabc".into()));
        let req = &http.requests()[0];
        assert_eq!(req.method, "POST");
        let auth = format!("Basic {}", STANDARD.encode("AC1:tok"));
        assert!(req.headers.contains(&("authorization".into(), auth)));
    }

    #[test]
    fn twilios_errors_keep_their_code_and_5xx_are_transient() {
        let http = FakeHttp::default();
        http.respond(URL, 400, r#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#);
        let err = send_to(&http).unwrap_err();
        assert_eq!(
            err,
            SendError::Refused {
                status: 400,
                code: Some(21610),
                message: "Attempt to send to unsubscribed recipient".into()
            }
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("21610"));
        http.respond(URL, 503, "busy");
        assert!(send_to(&http).unwrap_err().is_transient());
        http.fail(URL, ClientError::Timeout);
        assert!(send_to(&http).unwrap_err().is_transient());
    }
}
