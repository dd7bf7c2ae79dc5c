//! What crosses between the worker and a pair's object: the calls, their answers, and the
//! namespace as the worker sees it. A leaf the webhook's path can use without knowing how
//! an object works.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::conversation::InboundMessage;
use crate::conversation::LocalFuture;
use crate::seal::{SealError, TooLarge};
use crate::storage::{KvWrite, Source, StoreError};
use crate::twilio::segments::Segments;

/// Why a pair's object did not do what it was asked: a call from the worker that failed, or
/// the object's own work. In the log (and as JSON) it is the text [`fmt::Display`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectError {
    /// The call did not reach the object or failed on the way (a fault, a timeout, an error
    /// status), as the runtime worded it.
    Failed(String),
    /// A call or an answer that is not the JSON it should be.
    BadJson(String),
    /// The object's storage or alarm failed.
    Storage(StoreError),
    /// The record could not be sealed, so it was not stored.
    Seal(SealError),
    /// The record was too large for the object's storage, so it was not stored: the one
    /// kept before stays.
    TooLarge(TooLarge),
    /// A follow-up that was not sent (to be tried again, or dropped).
    FollowUp(String),
    /// The object did not answer in time: it may still be at work.
    TimedOut,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectError::Failed(why) | ObjectError::BadJson(why) | ObjectError::FollowUp(why) => {
                f.write_str(why)
            }
            ObjectError::Storage(e) => write!(f, "{e}"),
            ObjectError::Seal(e) => write!(f, "the record was not sealed: {e}"),
            ObjectError::TooLarge(e) => write!(f, "the record was not kept: {}", e.detail()),
            ObjectError::TimedOut => f.write_str("timed out"),
        }
    }
}

impl Serialize for ObjectError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<StoreError> for ObjectError {
    fn from(e: StoreError) -> Self {
        ObjectError::Storage(e)
    }
}

impl From<serde_json::Error> for ObjectError {
    fn from(e: serde_json::Error) -> Self {
        ObjectError::BadJson(e.to_string())
    }
}

/// The objects namespace, as the worker sees it: each call goes to the object named `name`.
pub trait Objects {
    /// Hands a verified webhook to the pair's object. [`ObjectError::TimedOut`] (no answer
    /// even past the webhook's deadline: the object may still be at work) makes the worker
    /// answer empty TwiML; another `Err` (the object failed or could not be reached, and kept
    /// nothing) makes it answer from the cookie.
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, Result<ObjectAnswer, ObjectError>>;

    /// Asks the pair's object to start a conversation; the status and JSON body to answer.
    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>>;

    /// Hands a verified status callback of one of the worker's own sends to the pair's
    /// object, which keeps the delivery status and learns from it that a send went out.
    fn status<'a>(
        &'a self,
        name: &'a str,
        call: &'a StatusCall,
    ) -> LocalFuture<'a, Result<(), ObjectError>>;

    /// A call of the state API for the pair's object; the status and JSON body to answer.
    fn state<'a>(
        &'a self,
        name: &'a str,
        call: &'a StateCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>>;
}

/// What the state API (`/conversations/state`) asks of a pair's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateOp {
    /// `GET`: the record.
    Get,
    /// `DELETE`: end the conversation, as RESET does.
    Reset,
    /// `PUT`: replace the conversation's state with this JSON text.
    Put(String),
}

/// A call of the state API (`/conversations/state`) for the pair's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateCall {
    /// What is asked.
    pub op: StateOp,
    /// The worker's clock (Unix seconds).
    pub now: u64,
}

/// A verified status callback (`MessageStatus`) for a message the worker sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCall {
    /// The message's SID.
    pub message_sid: String,
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed`, ….
    pub status: String,
    /// Twilio's `ErrorCode`, for a failed or undelivered message.
    pub error_code: Option<u32>,
    /// The send it answers, from the callback URL's `o` (`<send id>.<message index>`).
    pub send: Option<String>,
    /// The worker's clock (Unix seconds).
    pub now: u64,
}

/// A verified webhook, handed from the worker to the pair's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCall {
    /// The message, as the worker parsed it from the verified webhook.
    pub message: InboundMessage,
    /// The `Cookie` header Twilio sent.
    pub cookie: Option<String>,
    /// The worker's clock (Unix seconds).
    pub now: u64,
    /// The worker's public origin, for the status callbacks of the object's own sends.
    #[serde(default)]
    pub origin: String,
    /// When the webhook arrived at the worker (milliseconds since the Unix epoch; 0: not
    /// said, from an older worker).
    #[serde(default)]
    pub arrival_ms: u64,
    /// When its answer is due (`REPLY_BUDGET_SECONDS` after its arrival): past it the object
    /// answers empty TwiML and sends the reply on its own. 0: no deadline.
    #[serde(default)]
    pub deadline_ms: u64,
}

/// A request to start a conversation, handed to the pair's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCall {
    /// The person's number.
    pub to: String,
    /// Your Twilio number.
    pub from: String,
    /// The account it is sent from (`TWILIO_ACCOUNT_SID`).
    pub account_sid: String,
    /// The request's JSON object (its other fields are the conversation's to read).
    pub json: String,
    /// The worker's clock (Unix seconds).
    pub now: u64,
    /// The request's `Idempotency-Key` (or one the worker made up): a start repeated with it
    /// answers what the first did and sends nothing.
    #[serde(default)]
    pub idempotency_key: String,
    /// The worker's public origin, for the status callbacks of the object's own sends.
    #[serde(default)]
    pub origin: String,
}

/// The object's answer to a webhook, for the worker to send on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAnswer {
    /// TwiML.
    pub body: String,
    /// The `Set-Cookie` header: the cookie stays a faithful copy, for when the object
    /// cannot be reached.
    pub set_cookie: Option<String>,
    /// The log's outcome.
    pub outcome: AnsweredOutcome,
    /// Where the record came from (`object`, or `cookie` when it was newer).
    pub source: Option<Source>,
    /// The count after the message.
    pub count: Option<u64>,
    /// KV writes for the worker to run after the reply.
    pub writes: Vec<KvWrite>,
    /// The log's segments, one per `<Message>` (absent from an older object's answer).
    #[serde(default)]
    pub segments: Vec<Segments>,
    /// The log's notes (absent from an older object's answer, and when there are none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// How an object's webhook ended: what [`Outcome`](crate::response::Outcome) can be when an object answers, typed on
/// both sides of the call (on the wire, the log's names: `"reply"`, `"opt_out"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredOutcome {
    /// [`Outcome::Reply`](crate::response::Outcome::Reply).
    Reply,
    /// [`Outcome::Retry`](crate::response::Outcome::Retry).
    Retry,
    /// [`Outcome::Reset`](crate::response::Outcome::Reset).
    Reset,
    /// [`Outcome::OptOut`](crate::response::Outcome::OptOut).
    OptOut,
    /// [`Outcome::OptIn`](crate::response::Outcome::OptIn).
    OptIn,
    /// [`Outcome::OptedOut`](crate::response::Outcome::OptedOut).
    OptedOut,
    /// [`Outcome::Help`](crate::response::Outcome::Help).
    Help,
    /// [`Outcome::Late`](crate::response::Outcome::Late).
    #[cfg(feature = "objects")]
    Late,
}

#[cfg(test)]
mod tests;
