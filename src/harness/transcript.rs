//! Transcripts as tests: a conversation saved as JSON (the texts, the replies, Twilio's
//! retries, time passing, the fakes for outside calls; the dev phone saves them), replayed
//! through the test phone to check that the current build still gives the same replies.
//!
//! ```json
//! {
//!   "format": "sms-conversation-worker transcript 1",
//!   "conversation": "survey",
//!   "vars": {"SURVEY_REMINDER_SECONDS": "0"},
//!   "from": "+14155550100",
//!   "to": "+15005550006",
//!   "steps": [
//!     {"text": "hi", "replies": ["Hi! What's your name?"]},
//!     {"retry": true, "replies": ["Hi! What's your name?"]},
//!     {"wait": 3600},
//!     {"fake": {"method": "GET", "url": "https://dog.ceo/api/breeds/image/random", "status": 200, "body": "{}", "delay_ms": 0}},
//!     {"text": "dog", "replies": ["Here you go"], "media": ["https://x/y.jpg"]}
//!   ]
//! }
//! ```
//!
//! `vars`, `from`, `to`, `media` (none expected when absent), `delay_ms` and a fake's
//! `method` (any when absent) are optional; a fake has `"error": "timeout"` (or `"failed"`,
//! `"not_sent"`) instead of `status` and `body`, and answers every matching call from its step
//! on, until a later fake for the same call replaces it. `{"retry": true}` is Twilio's retry of
//! the last message, with the cookie its first attempt carried, reaching a new isolate
//! ([`TestPhone::retry_elsewhere`]). The phone has neither KV nor the objects bound.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::TestPhone;
use crate::conversation::{ClientError, Conversation};
use crate::registry::Conversations;
use crate::vars::ConfigError;

mod error;
mod parse;
mod play;

pub use error::ReplayError;

/// The `format` of the transcripts this build replays.
pub const TRANSCRIPT_FORMAT: &str = "sms-conversation-worker transcript 1";

/// A saved conversation to replay ([`Transcript::replay`], [`replay`]).
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Where it was read from, to name it in errors.
    source: String,
    conversation: String,
    vars: BTreeMap<String, String>,
    from: Option<String>,
    to: Option<String>,
    steps: Vec<Step>,
}

/// One step of a transcript, checked: what the phone does, and the reply it expects.
#[derive(Debug, Clone)]
enum Step {
    Text { text: String, expected: Expected },
    Retry { expected: Expected },
    Wait { seconds: u64 },
    Fake(Fake),
}

/// The `<Message>` texts and every `<Media>` URL a step expects.
#[derive(Debug, Clone)]
struct Expected {
    replies: Vec<String>,
    media: Vec<String>,
}

/// An answer of the fake HTTP client, set from its step on.
#[derive(Debug, Clone)]
struct Fake {
    method: Option<String>,
    url: String,
    answer: Result<(u16, String), ClientError>,
    delay: Duration,
}

impl Transcript {
    /// Reads the transcript in `path`.
    ///
    /// # Errors
    /// [`ReplayError::Read`] or [`ReplayError::Invalid`], naming the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Transcript, ReplayError> {
        let source = path.as_ref().display().to_string();
        let json = std::fs::read_to_string(path.as_ref()).map_err(|e| ReplayError::Read {
            transcript: source.clone(),
            why: e.to_string(),
        })?;
        Transcript::parse(source, &json)
    }

    /// Reads a transcript from its JSON.
    ///
    /// # Errors
    /// [`ReplayError::Read`] or [`ReplayError::Invalid`].
    pub fn from_json(json: &str) -> Result<Transcript, ReplayError> {
        Transcript::parse("transcript".into(), json)
    }

    /// The name of its conversation ([`Conversation::NAME`]).
    pub fn conversation(&self) -> &str {
        &self.conversation
    }

    /// Replays it with the conversation its `conversation` names among `conversations`.
    ///
    /// # Errors
    /// The first step answered differently ([`ReplayError::Differs`]), or a conversation or
    /// settings the worker would refuse.
    pub fn replay(&self, conversations: &Conversations) -> Result<(), ReplayError> {
        let vars = self.var_pairs();
        let phone = TestPhone::of(conversations, &self.conversation, &vars)
            .map_err(|e| self.config_error(e))?;
        self.run(phone)
    }

    /// Replays it with `C`, which must be the conversation it names.
    ///
    /// # Errors
    /// As [`Transcript::replay`], and [`ReplayError::WrongConversation`].
    pub fn replay_with<C: Conversation>(&self) -> Result<(), ReplayError> {
        if self.conversation != C::NAME {
            return Err(ReplayError::WrongConversation {
                transcript: self.source.clone(),
                found: self.conversation.clone(),
                replayed_with: C::NAME,
            });
        }
        let phone = TestPhone::new::<C>(&self.var_pairs()).map_err(|e| self.config_error(e))?;
        self.run(phone)
    }

    /// The vars as the phone takes them.
    fn var_pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The phone refused the transcript's settings: the error names the transcript.
    fn config_error(&self, error: ConfigError) -> ReplayError {
        ReplayError::Config {
            transcript: self.source.clone(),
            error,
        }
    }
}

impl TestPhone {
    /// Replays the transcript in `path` with `C` (the conversation it names), over its vars.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transcripts/counter.json");
    /// TestPhone::replay::<Counter>(path).unwrap();
    /// ```
    ///
    /// # Errors
    /// As [`Transcript::replay_with`]; a transcript that cannot be read.
    pub fn replay<C: Conversation>(path: impl AsRef<Path>) -> Result<(), ReplayError> {
        Transcript::read(path)?.replay_with::<C>()
    }
}

/// Replays the transcript in `path` with the conversation its `conversation` names among
/// `conversations` (a worker's [`crate::worker!`] list): the current build must give the
/// replies it recorded.
///
/// ```
/// use sms_conversation_worker::harness::replay;
/// use sms_conversation_worker::conversations::SHIPPED;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transcripts/survey.json");
/// replay(path, &SHIPPED).unwrap();
/// ```
///
/// # Errors
/// The first step answered differently, whose `Display` is a diff (`-` expected, `+` got);
/// a transcript that cannot be read; a conversation or settings the worker would refuse.
pub fn replay(path: impl AsRef<Path>, conversations: &Conversations) -> Result<(), ReplayError> {
    Transcript::read(path)?.replay(conversations)
}

#[cfg(test)]
mod tests;
