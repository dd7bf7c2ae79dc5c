//! What the webhook answers: the response, the typed log event, and every way a request is
//! refused, each mapped to its status in one place ([`Rejection::status`]).

use std::fmt;

use crate::config::{ConfigError, WebhookMethod};
use crate::conversation::{AfterReply, LocalFuture, StateError};
use crate::object_calls::ObjectError;
use crate::seal::SealError;
use crate::storage::{KvWrite, Source, StoreError};
use crate::twilio::params::ParamsError;
use crate::twilio::segments::Segments;
use crate::twilio::twiml;
use crate::twilio::webhook::Refusal;

/// Twilio's largest webhook is a few KiB; anything far beyond is not Twilio.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The answer to one request, and the work to do after it.
pub struct Handled {
    /// What to send back now.
    pub response: HttpResponse,
    /// KV writes to make afterwards; empty without KV, and for retries.
    pub writes: Vec<KvWrite>,
    /// Work the conversation handed over, to finish after the reply.
    pub after_reply: Vec<AfterReply>,
    /// The reply sent through the Messages API when it went late (KV alone): to run after
    /// the KV writes, so that the state is kept before the person can answer it.
    pub late_reply: Option<LateReply>,
}

/// A reply that outlasted the webhook's budget, to send through the Messages API after the
/// answer (Workers KV alone; the objects send their own), and its messages' segments.
///
/// ```
/// use sms_conversation_worker::harness::block_on;
/// use sms_conversation_worker::response::LateReply;
/// let late = LateReply::new(Box::pin(async { Ok("sent SM1".to_string()) }), Vec::new());
/// let line = block_on(late.send()).unwrap();
/// assert_eq!(line, r#"{"event":"late_reply","result":"sent SM1","segments":[]}"#);
/// ```
pub struct LateReply {
    work: LocalFuture<'static, Result<String, String>>,
    segments: Vec<Segments>,
}

impl LateReply {
    /// The send `work` (what it did, or what failed) of messages costing `segments`.
    pub fn new(
        work: LocalFuture<'static, Result<String, String>>,
        segments: Vec<Segments>,
    ) -> Self {
        LateReply { work, segments }
    }

    /// Sends it, once: the log line (`{"event":"late_reply","result"|"error":…,
    /// "segments":[…]}`, numbers masked, no message body), an `Err` when the send failed.
    pub async fn send(self) -> Result<String, String> {
        let result = self.work.await;
        let (name, text) = match &result {
            Ok(what) => ("result", what),
            Err(why) => ("error", why),
        };
        let line = format!(
            "{{\"event\":\"late_reply\",\"{name}\":{},\"segments\":{}}}",
            json_string(&crate::mask::mask_numbers(text)),
            serde_json::to_string(&self.segments).unwrap_or_default()
        );
        result.map(|_| line.clone()).map_err(|_| line)
    }
}

impl Handled {
    /// `response` with nothing to do afterwards.
    pub(crate) fn only(response: HttpResponse) -> Handled {
        Handled {
            response,
            writes: Vec::new(),
            after_reply: Vec::new(),
            late_reply: None,
        }
    }

    /// TwiML with nothing to do afterwards.
    pub(crate) fn twiml(xml: String, set_cookie: Option<String>, log: LogEvent) -> Handled {
        Handled::only(HttpResponse::twiml(xml, set_cookie, log))
    }
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: &'static str,
    /// The body: TwiML, or a short plain text explaining an error.
    pub body: String,
    /// `Set-Cookie` header, when the conversation goes on.
    pub set_cookie: Option<String>,
    /// `Allow` header, for a 405.
    pub allow: Option<&'static str>,
    /// What to log about this request: never a body, a secret or a whole phone number.
    pub log: LogEvent,
    /// `X-Dev-Fetches`: the conversation's outside calls and their answers, as transcript
    /// fakes (JSON), with `DEV_RECORD_FETCHES` only.
    pub dev_fetches: Option<String>,
}

impl HttpResponse {
    pub(crate) fn twiml(xml: String, set_cookie: Option<String>, log: LogEvent) -> Self {
        HttpResponse {
            content_type: twiml::CONTENT_TYPE,
            set_cookie,
            ..HttpResponse::text(200, xml, log)
        }
    }

    pub(crate) fn text(status: u16, body: String, log: LogEvent) -> Self {
        HttpResponse {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
            set_cookie: None,
            allow: None,
            log,
            dev_fetches: None,
        }
    }

    #[cfg(any(feature = "objects", state_api))]
    pub(crate) fn json(status: u16, body: String, log: LogEvent) -> Self {
        HttpResponse {
            content_type: "application/json",
            ..HttpResponse::text(status, body, log)
        }
    }

    pub(crate) fn rejected(rejection: Rejection) -> Self {
        let (allow, status) = (rejection.allow(), rejection.status());
        let text = format!("{rejection}\n");
        let log = LogEvent::new(Outcome::Rejected(rejection), None);
        let response = HttpResponse::text(status, text, log);
        HttpResponse { allow, ..response }
    }

    /// The `X-State-Source` header: where the conversation's record came from (`new`,
    /// `cookie`, `kv`, `memory`), for the dev phone. Says nothing secret.
    pub fn state_source(&self) -> Option<&'static str> {
        self.log.source.map(Source::name)
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new message, answered by the conversation.
    Reply,
    /// A MessageSid already answered (a retry or a replay): the same answer, no change.
    Retry,
    /// The reset keyword: the conversation was forgotten.
    Reset,
    /// An opt-out keyword: counted, the pair marked opted out, answered with an empty
    /// `<Response/>`.
    OptOut,
    /// An opt-in keyword: the opt-out cleared, answered with `OPT_IN_REPLY` (none by default).
    OptIn,
    /// A text from an opted-out person that is no opt-in: counted, kept from the
    /// conversation, not answered.
    OptedOut,
    /// HELP or INFO with `HELP_REPLY` set: answered with it.
    Help,
    /// The reply outlasted `REPLY_BUDGET_SECONDS`: answered with empty TwiML in time, the
    /// reply sent through the Messages API once it has it (by the pair's object, or from
    /// `waitUntil` with KV alone).
    Late,
    /// A delivery report sent to the webhook URL: acknowledged, not counted.
    StatusCallback,
    /// A browser opening the worker's address.
    Info,
    /// `POST /conversations`, whatever the object answered.
    Start,
    /// `/conversations/state`, whatever it answered.
    #[cfg(state_api)]
    Admin,
    /// Refused.
    Rejected(Rejection),
}

impl Outcome {
    /// Its name in the log line.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Reply => "reply",
            Outcome::Retry => "retry",
            Outcome::Reset => "reset",
            Outcome::OptOut => "opt_out",
            Outcome::OptIn => "opt_in",
            Outcome::OptedOut => "opted_out",
            Outcome::Help => "help",
            Outcome::Late => "late",
            Outcome::StatusCallback => "status_callback",
            Outcome::Info => "info",
            Outcome::Start => "start",
            #[cfg(state_api)]
            Outcome::Admin => "admin",
            Outcome::Rejected(r) => r.name(),
        }
    }
}

/// The facts of one request worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// How it ended.
    pub outcome: Outcome,
    /// Where the record came from, for webhooks that got that far.
    pub source: Option<Source>,
    /// The conversation's count after this message.
    pub count: Option<u64>,
    /// The sender, masked.
    pub from: Option<String>,
    /// A KV read that failed, when one did.
    pub kv_error: Option<StoreError>,
    /// Why the pair's Durable Object could not answer (the cookie answered instead).
    pub object_error: Option<ObjectError>,
    /// A record that could not be sealed: no cookie or KV value was written for it.
    pub seal_error: Option<SealError>,
    /// The conversation's state did not serialise: the previous state was kept.
    pub state_error: Option<StateError>,
    /// The reply asked for a follow-up that cannot happen without the objects binding.
    pub follow_up_ignored: bool,
    /// A new conversation on a worker that starts them, whose webhook's `AccountSid` is not
    /// `TWILIO_ACCOUNT_SID`: why a conversation `POST /conversations` started may not have
    /// continued (both SIDs named; an AccountSid is not a secret).
    pub account_error: Option<String>,
    /// What each `<Message>` of the answer costs, in order (a retry's too: the same answer
    /// goes out again); empty when nothing is sent.
    pub segments: Vec<Segments>,
    /// What the conversation noted ([`Context::note`](crate::conversation::Context::note)):
    /// the members of the line's `"notes"` object, empty when none.
    pub notes: String,
}

impl LogEvent {
    /// An event with nothing but its outcome and (masked) sender.
    pub fn new(outcome: Outcome, from: Option<String>) -> Self {
        LogEvent {
            outcome,
            source: None,
            count: None,
            from,
            kv_error: None,
            object_error: None,
            seal_error: None,
            state_error: None,
            follow_up_ignored: false,
            account_error: None,
            segments: Vec::new(),
            notes: String::new(),
        }
    }
}

/// `s` as a JSON string, quoted and escaped by serde_json: for JSON written field by field.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Why a request gets no TwiML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not `/` or `/sms`.
    NotFound,
    /// `/conversations` on a worker whose starts are off: built without the `objects`
    /// feature, or without `OUTBOUND_API_KEY`. A 404 (the route is not there), saying what to
    /// set.
    StartsOff,
    /// Neither GET nor POST.
    MethodNotAllowed,
    /// A webhook by a method `WEBHOOK_METHOD` does not allow.
    WrongWebhookMethod(WebhookMethod),
    /// A POST that is not form-encoded.
    UnsupportedMediaType,
    /// Body over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body could not be read (the client went away mid-upload).
    UnreadableBody,
    /// Parameters that are not a Twilio webhook.
    BadParams(ParamsError),
    /// No `X-Twilio-Signature` header.
    MissingSignature,
    /// A signature that does not match.
    BadSignature,
    /// The worker cannot serve webhooks until its configuration is fixed.
    Misconfigured(ConfigError),
    /// A refusal that exists only with the objects (`POST /conversations`, an object out of
    /// reach).
    #[cfg(feature = "objects")]
    Objects(ObjectRejection),
    /// A refusal of the state API.
    #[cfg(state_api)]
    Admin(AdminRejection),
}

impl Rejection {
    /// The HTTP status of each rejection: the single place they are decided.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::NotFound | Rejection::StartsOff => 404,
            Rejection::MethodNotAllowed | Rejection::WrongWebhookMethod(_) => 405,
            Rejection::UnsupportedMediaType => 415,
            Rejection::TooLarge => 413,
            Rejection::UnreadableBody | Rejection::BadParams(_) => 400,
            Rejection::MissingSignature | Rejection::BadSignature => 403,
            Rejection::Misconfigured(_) => 500,
            #[cfg(feature = "objects")]
            Rejection::Objects(r) => r.status(),
            #[cfg(state_api)]
            Rejection::Admin(r) => r.status(),
        }
    }

    /// The `Allow` header of a 405: the methods the route takes.
    fn allow(&self) -> Option<&'static str> {
        match self {
            Rejection::MethodNotAllowed | Rejection::WrongWebhookMethod(_) => Some("GET, POST"),
            #[cfg(feature = "objects")]
            Rejection::Objects(ObjectRejection::StartMethod) => Some("POST"),
            #[cfg(state_api)]
            Rejection::Admin(AdminRejection::Method) => Some("GET, PUT, DELETE"),
            _ => None,
        }
    }

    /// Its name in the log line.
    fn name(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::StartsOff => "starts_off",
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::WrongWebhookMethod(_) => "wrong_webhook_method",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::TooLarge => "too_large",
            Rejection::UnreadableBody => "unreadable_body",
            Rejection::BadParams(_) => "bad_params",
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::Misconfigured(_) => "misconfigured",
            #[cfg(feature = "objects")]
            Rejection::Objects(r) => r.name(),
            #[cfg(state_api)]
            Rejection::Admin(r) => r.name(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotFound => f.write_str("not found: the webhook is at /sms (or /)"),
            Rejection::StartsOff => f.write_str(STARTS_OFF),
            Rejection::MethodNotAllowed => f.write_str("method not allowed: use POST or GET"),
            Rejection::WrongWebhookMethod(allowed) => {
                let (takes, other) = takes_and_other(allowed);
                write!(
                    f,
                    "method not allowed: this webhook takes {takes} (WEBHOOK_METHOD); if your Twilio number uses {other}, set WEBHOOK_METHOD to match"
                )
            }
            Rejection::UnsupportedMediaType => f.write_str(
                "unsupported Content-Type: Twilio webhooks are application/x-www-form-urlencoded",
            ),
            Rejection::TooLarge => write!(
                f,
                "request body too large (limit {} bytes)",
                MAX_BODY_BYTES
            ),
            Rejection::UnreadableBody => f.write_str("the request body could not be read"),
            Rejection::BadParams(e) => write!(f, "{e}"),
            Rejection::MissingSignature => {
                f.write_str("forbidden: missing X-Twilio-Signature header")
            }
            Rejection::BadSignature => f.write_str(
                "forbidden: X-Twilio-Signature does not match (is TWILIO_AUTH_TOKEN right, and WEBHOOK_BASE_URL set behind a proxy?)",
            ),
            Rejection::Misconfigured(e) => write!(f, "misconfigured: {e}"),
            #[cfg(feature = "objects")]
            Rejection::Objects(r) => r.fmt(f),
            #[cfg(state_api)]
            Rejection::Admin(r) => r.fmt(f),
        }
    }
}

/// Why `POST /conversations` is off, and what turns it on.
#[cfg(feature = "objects")]
const STARTS_OFF: &str = "not found: POST /conversations is off: set the secret OUTBOUND_API_KEY (its Bearer token; `npm run --silent secret` prints one) and bind CONVERSATION_OBJECTS (wrangler.toml)";
/// Why `POST /conversations` is off in a build without the objects, and what turns it on.
#[cfg(not(feature = "objects"))]
const STARTS_OFF: &str = "not found: POST /conversations is off: it needs the crate's \"objects\" feature (Cargo.toml), the CONVERSATION_OBJECTS binding (wrangler.toml) and the secret OUTBOUND_API_KEY";

/// The method `WEBHOOK_METHOD` takes, and the other one a Twilio number may be using.
fn takes_and_other(allowed: &WebhookMethod) -> (&'static str, &'static str) {
    match allowed {
        WebhookMethod::Post => ("POST", "GET"),
        WebhookMethod::Get => ("GET", "POST"),
        WebhookMethod::Any => ("POST or GET", "another method"),
    }
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Params(e) => Rejection::BadParams(e),
            Refusal::Misconfigured(e) => Rejection::Misconfigured(e),
            Refusal::MissingSignature => Rejection::MissingSignature,
            Refusal::BadSignature => Rejection::BadSignature,
        }
    }
}

impl From<ParamsError> for Rejection {
    fn from(e: ParamsError) -> Self {
        Rejection::BadParams(e)
    }
}

#[cfg(state_api)]
mod admin;
mod log_line;
mod object;
#[cfg(feature = "objects")]
mod objects;

#[cfg(state_api)]
pub use admin::AdminRejection;
#[cfg(feature = "objects")]
pub use objects::ObjectRejection;

#[cfg(test)]
mod tests;
