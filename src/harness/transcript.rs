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

use serde::Deserialize;

use super::{Exchange, TestPhone};
use crate::conversation::{ClientError, Conversation};
use crate::registry::Conversations;
use crate::vars::ConfigError;

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

#[derive(Debug, Clone)]
struct Fake {
    method: Option<String>,
    url: String,
    answer: Result<(u16, String), ClientError>,
    delay: Duration,
}

/// A transcript's JSON as written, before its steps are checked.
#[derive(Deserialize)]
struct RawTranscript {
    format: String,
    conversation: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    from: Option<String>,
    to: Option<String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
struct RawStep {
    text: Option<String>,
    retry: Option<bool>,
    wait: Option<u64>,
    fake: Option<RawFake>,
    replies: Option<Vec<String>>,
    media: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawFake {
    method: Option<String>,
    url: String,
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
    delay_ms: Option<u64>,
}

/// Why a transcript did not replay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// It could not be read: no such file, not JSON, another format.
    Read {
        /// The transcript's file (or `transcript` when given as text).
        transcript: String,
        /// Why.
        why: String,
    },
    /// A step is not one this format has (numbered from 1).
    Invalid {
        /// The transcript.
        transcript: String,
        /// The step.
        step: usize,
        /// What is wrong with it.
        why: String,
    },
    /// Its conversation or settings are refused, as the worker would refuse them (an
    /// unknown `conversation` is a `CONVERSATION` error).
    Config {
        /// The transcript.
        transcript: String,
        /// The worker's error.
        error: ConfigError,
    },
    /// It is another conversation's than the one it was replayed with.
    WrongConversation {
        /// The transcript.
        transcript: String,
        /// The conversation it names.
        found: String,
        /// The one it was replayed with.
        replayed_with: &'static str,
    },
    /// The current build answers a step differently; `Display` shows the difference line by
    /// line, `-` expected and `+` got.
    Differs {
        /// The transcript.
        transcript: String,
        /// The step, numbered from 1 among all the steps.
        step: usize,
        /// What was sent: `text "…"`, or `retry of "…"`.
        sent: String,
        /// The expected lines: each message's text, then `media: URL` for each media.
        expected: Vec<String>,
        /// What came back, the same way (an HTTP error as `HTTP status: body`).
        got: Vec<String>,
    },
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Read { transcript, why } => write!(f, "{transcript}: {why}"),
            ReplayError::Invalid {
                transcript,
                step,
                why,
            } => write!(f, "{transcript}: step {step}: {why}"),
            ReplayError::Config { transcript, error } => write!(f, "{transcript}: {error}"),
            ReplayError::WrongConversation {
                transcript,
                found,
                replayed_with,
            } => write!(
                f,
                "{transcript}: a transcript of {found:?}, replayed with {replayed_with:?}"
            ),
            ReplayError::Differs {
                transcript,
                step,
                sent,
                expected,
                got,
            } => {
                write!(f, "{transcript}: step {step} ({sent}): the reply differs")?;
                if expected.is_empty() {
                    f.write_str(" (expected an empty <Response/>)")?;
                }
                if got.is_empty() {
                    f.write_str(" (got an empty <Response/>)")?;
                }
                for (mark, line) in diff(expected, got) {
                    write!(f, "\n{mark} {line}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// The lines of `expected` and `got` in order, each marked ` ` (both), `-` (expected only) or
/// `+` (got only): a longest-common-subsequence diff, fine for a reply's few lines.
fn diff<'a>(expected: &'a [String], got: &'a [String]) -> Vec<(char, &'a str)> {
    let (n, m) = (expected.len(), got.len());
    // common[i][j]: the longest common subsequence of expected[i..] and got[j..].
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == got[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            lines.push((' ', expected[i].as_str()));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(('-', expected[i].as_str()));
            i += 1;
        } else {
            lines.push(('+', got[j].as_str()));
            j += 1;
        }
    }
    lines
}

impl Expected {
    fn lines(&self) -> Vec<String> {
        reply_lines(self.replies.iter().map(String::as_str), &self.media)
    }
}

/// A reply as diff lines: each message's text lines (messages apart by a `--` line), then
/// `media: URL` for each media.
fn reply_lines<'a>(texts: impl Iterator<Item = &'a str>, media: &[impl AsRef<str>]) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, text) in texts.enumerate() {
        if i > 0 {
            lines.push("--".to_string());
        }
        lines.extend(text.split('\n').map(str::to_string));
    }
    lines.extend(media.iter().map(|m| format!("media: {}", m.as_ref())));
    lines
}

fn got_lines(answer: &Exchange) -> Vec<String> {
    if answer.status != 200 {
        return vec![format!("HTTP {}: {}", answer.status, answer.body)];
    }
    reply_lines(answer.texts().into_iter(), &answer.media())
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

    fn var_pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn config_error(&self, error: ConfigError) -> ReplayError {
        ReplayError::Config {
            transcript: self.source.clone(),
            error,
        }
    }

    fn parse(source: String, json: &str) -> Result<Transcript, ReplayError> {
        let read_error = |why: String| ReplayError::Read {
            transcript: source.clone(),
            why,
        };
        let raw: RawTranscript =
            serde_json::from_str(json).map_err(|e| read_error(format!("not a transcript: {e}")))?;
        if raw.format != TRANSCRIPT_FORMAT {
            return Err(read_error(format!(
                "format {:?}, this build replays {TRANSCRIPT_FORMAT:?}",
                raw.format
            )));
        }
        let steps = raw
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                step.check().map_err(|why| ReplayError::Invalid {
                    transcript: source.clone(),
                    step: i + 1,
                    why,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Transcript {
            source,
            conversation: raw.conversation,
            vars: raw.vars,
            from: raw.from,
            to: raw.to,
            steps,
        })
    }

    /// Plays the steps on `phone`, stopping at the first reply that differs.
    fn run(&self, mut phone: TestPhone) -> Result<(), ReplayError> {
        if let Some(from) = &self.from {
            phone = phone.from(from);
        }
        if let Some(to) = &self.to {
            phone = phone.to(to);
        }
        let mut last_text = None;
        for (i, step) in self.steps.iter().enumerate() {
            let (sent, answer, expected) = match step {
                Step::Wait { seconds } => {
                    phone.wait(*seconds);
                    continue;
                }
                Step::Fake(fake) => {
                    fake.set(&phone);
                    continue;
                }
                Step::Text { text, expected } => {
                    last_text = Some(text);
                    (format!("text {text:?}"), phone.text(text), expected)
                }
                Step::Retry { expected } => {
                    let invalid = || ReplayError::Invalid {
                        transcript: self.source.clone(),
                        step: i + 1,
                        why: "a retry before any text".into(),
                    };
                    let text = last_text.ok_or_else(invalid)?;
                    let answer = phone.try_retry_elsewhere().ok_or_else(invalid)?;
                    (format!("retry of {text:?}"), answer, expected)
                }
            };
            let (expected, got) = (expected.lines(), got_lines(&answer));
            if expected != got {
                return Err(ReplayError::Differs {
                    transcript: self.source.clone(),
                    step: i + 1,
                    sent,
                    expected,
                    got,
                });
            }
        }
        Ok(())
    }
}

impl RawStep {
    /// The step this is: exactly one of `text`, `retry`, `wait`, `fake`.
    fn check(self) -> Result<Step, String> {
        let kinds = [
            self.text.is_some(),
            self.retry.is_some(),
            self.wait.is_some(),
            self.fake.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("a step is one of text, retry, wait and fake".into());
        }
        let expected = |replies: Option<Vec<String>>, media: Option<Vec<String>>| {
            let replies = replies.ok_or("a text or retry lists its replies ([] for none)")?;
            Ok::<_, String>(Expected {
                replies,
                media: media.unwrap_or_default(),
            })
        };
        if let Some(text) = self.text {
            return Ok(Step::Text {
                text,
                expected: expected(self.replies, self.media)?,
            });
        }
        if let Some(retry) = self.retry {
            if !retry {
                return Err("\"retry\" is true or absent".into());
            }
            return Ok(Step::Retry {
                expected: expected(self.replies, self.media)?,
            });
        }
        if self.replies.is_some() || self.media.is_some() {
            return Err("only a text or a retry has replies or media".into());
        }
        if let Some(seconds) = self.wait {
            return Ok(Step::Wait { seconds });
        }
        self.fake
            .ok_or_else(|| "a step is one of text, retry, wait and fake".to_string())?
            .check()
            .map(Step::Fake)
    }
}

impl RawFake {
    fn check(self) -> Result<Fake, String> {
        let answer = match (self.error, self.status) {
            (Some(_), Some(_)) => return Err("a fake has an error or a status, not both".into()),
            (None, None) => return Err("a fake has a status (and body) or an error".into()),
            (None, Some(status)) => Ok((status, self.body.unwrap_or_default())),
            (Some(error), None) => Err(match error.as_str() {
                "timeout" => ClientError::Timeout,
                "failed" => ClientError::Failed("failed (transcript fake)".into()),
                "not_sent" => ClientError::NotSent("not sent (transcript fake)".into()),
                other => {
                    return Err(format!(
                        "a fake's error is timeout, failed or not_sent, not {other:?}"
                    ))
                }
            }),
        };
        Ok(Fake {
            method: self.method,
            url: self.url,
            answer,
            delay: Duration::from_millis(self.delay_ms.unwrap_or(0)),
        })
    }
}

impl Fake {
    /// Makes `phone`'s fake HTTP client answer as this fake says, from now on.
    fn set(&self, phone: &TestPhone) {
        let answering = match &self.method {
            Some(method) => phone.http().on(method, &self.url),
            None => phone.http().answering(None, &self.url),
        }
        .after(self.delay);
        match &self.answer {
            Ok((status, body)) => answering.respond(*status, body),
            Err(error) => answering.fail(error.clone()),
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
