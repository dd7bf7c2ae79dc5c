//! Reading a transcript's JSON, each step checked before any is played.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Expected, Fake, ReplayError, Step, Transcript, TRANSCRIPT_FORMAT};
use crate::conversation::ClientError;

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

/// A step's JSON as written: any of the kinds may be given, [`RawStep::check`] says which
/// one it is.
#[derive(Deserialize)]
struct RawStep {
    text: Option<String>,
    retry: Option<bool>,
    wait: Option<u64>,
    fake: Option<RawFake>,
    replies: Option<Vec<String>>,
    media: Option<Vec<String>>,
}

/// A fake's JSON as written, before its answer is checked.
#[derive(Deserialize)]
struct RawFake {
    method: Option<String>,
    url: String,
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
    delay_ms: Option<u64>,
}

impl Transcript {
    /// Reads a transcript from `json`, errors naming `source`: every step is checked before
    /// any runs, so that a bad one is no late surprise.
    pub(super) fn parse(source: String, json: &str) -> Result<Transcript, ReplayError> {
        let raw = RawTranscript::read(json).map_err(|why| ReplayError::Read {
            transcript: source.clone(),
            why,
        })?;
        let steps = check_steps(&source, raw.steps)?;
        Ok(Transcript {
            source,
            conversation: raw.conversation,
            vars: raw.vars,
            from: raw.from,
            to: raw.to,
            steps,
        })
    }
}

impl RawTranscript {
    /// Reads `json`, of this build's format only: another may mean other steps.
    fn read(json: &str) -> Result<RawTranscript, String> {
        let raw: RawTranscript =
            serde_json::from_str(json).map_err(|e| format!("not a transcript: {e}"))?;
        if raw.format != TRANSCRIPT_FORMAT {
            return Err(format!(
                "format {:?}, this build replays {TRANSCRIPT_FORMAT:?}",
                raw.format
            ));
        }
        Ok(raw)
    }
}

/// Every step checked before any is played; the first that is not one, by its number (from 1).
fn check_steps(source: &str, steps: Vec<RawStep>) -> Result<Vec<Step>, ReplayError> {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| {
            step.check().map_err(|why| ReplayError::Invalid {
                transcript: source.to_string(),
                step: i + 1,
                why,
            })
        })
        .collect()
}

/// The error of a step that is none or several of the kinds.
const ONE_KIND: &str = "a step is one of text, retry, wait and fake";

impl RawStep {
    /// The step this is: exactly one of `text`, `retry`, `wait`, `fake`.
    fn check(self) -> Result<Step, String> {
        if self.kinds() != 1 {
            return Err(ONE_KIND.into());
        }
        if self.text.is_some() || self.retry.is_some() {
            return self.reply_step();
        }
        if self.replies.is_some() || self.media.is_some() {
            return Err("only a text or a retry has replies or media".into());
        }
        match (self.wait, self.fake) {
            (Some(seconds), _) => Ok(Step::Wait { seconds }),
            (None, fake) => fake.ok_or(ONE_KIND)?.check().map(Step::Fake),
        }
    }

    /// How many kinds of step this has given.
    fn kinds(&self) -> usize {
        [
            self.text.is_some(),
            self.retry.is_some(),
            self.wait.is_some(),
            self.fake.is_some(),
        ]
        .iter()
        .filter(|k| **k)
        .count()
    }

    /// A text or a retry, with the reply it expects.
    fn reply_step(self) -> Result<Step, String> {
        if self.retry == Some(false) {
            return Err("\"retry\" is true or absent".into());
        }
        let expected = Expected::of(self.replies, self.media)?;
        Ok(match self.text {
            Some(text) => Step::Text { text, expected },
            None => Step::Retry { expected },
        })
    }
}

impl Expected {
    /// What a text or a retry expects: its replies must be listed, even none, so that a
    /// forgotten list is not read as an empty reply.
    fn of(replies: Option<Vec<String>>, media: Option<Vec<String>>) -> Result<Expected, String> {
        let replies = replies.ok_or("a text or retry lists its replies ([] for none)")?;
        Ok(Expected {
            replies,
            media: media.unwrap_or_default(),
        })
    }
}

impl RawFake {
    /// The fake this is: a status (and body) or an error, never both.
    fn check(self) -> Result<Fake, String> {
        let answer = match (self.error, self.status) {
            (Some(_), Some(_)) => return Err("a fake has an error or a status, not both".into()),
            (None, None) => return Err("a fake has a status (and body) or an error".into()),
            (None, Some(status)) => Ok((status, self.body.unwrap_or_default())),
            (Some(error), None) => Err(client_error(&error)?),
        };
        Ok(Fake {
            method: self.method,
            url: self.url,
            answer,
            delay: Duration::from_millis(self.delay_ms.unwrap_or(0)),
        })
    }
}

/// The client error a fake's `error` names.
fn client_error(error: &str) -> Result<ClientError, String> {
    match error {
        "timeout" => Ok(ClientError::Timeout),
        "failed" => Ok(ClientError::Failed("failed (transcript fake)".into())),
        "not_sent" => Ok(ClientError::NotSent("not sent (transcript fake)".into())),
        other => Err(format!(
            "a fake's error is timeout, failed or not_sent, not {other:?}"
        )),
    }
}
