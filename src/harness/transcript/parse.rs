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

impl Transcript {
    pub(super) fn parse(source: String, json: &str) -> Result<Transcript, ReplayError> {
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
