//! Playing a transcript's steps on the test phone and comparing the replies.

use super::{Expected, Fake, ReplayError, Step, Transcript};
use crate::harness::{Exchange, TestPhone};

impl Transcript {
    /// Plays the steps on `phone`, stopping at the first reply that differs.
    pub(super) fn run(&self, mut phone: TestPhone) -> Result<(), ReplayError> {
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
