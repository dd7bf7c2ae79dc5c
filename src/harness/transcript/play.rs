//! Playing a transcript's steps on the test phone and comparing the replies.

use super::{Expected, Fake, ReplayError, Step, Transcript};
use crate::harness::{Exchange, TestPhone};

/// What a text or a retry sent, what came back and what the transcript expected.
struct Played<'t> {
    sent: String,
    answer: Exchange,
    expected: &'t Expected,
}

impl Transcript {
    /// Plays the steps on `phone`, stopping at the first reply that differs.
    pub(super) fn run(&self, phone: TestPhone) -> Result<(), ReplayError> {
        let mut phone = self.dialing(phone);
        let mut last_text = None;
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(played) = self.play(i + 1, step, &mut phone, &mut last_text)? {
                self.compare(i + 1, played)?;
            }
        }
        Ok(())
    }

    /// `phone`, texting from and to the transcript's numbers when it names them.
    fn dialing(&self, mut phone: TestPhone) -> TestPhone {
        if let Some(from) = &self.from {
            phone = phone.from(from);
        }
        if let Some(to) = &self.to {
            phone = phone.to(to);
        }
        phone
    }

    /// Plays step `n` (numbered from 1); a text or a retry gives what to compare. `last_text`
    /// is the text a later retry names, as Twilio's retry sends it again.
    fn play<'t>(
        &'t self,
        n: usize,
        step: &'t Step,
        phone: &mut TestPhone,
        last_text: &mut Option<&'t str>,
    ) -> Result<Option<Played<'t>>, ReplayError> {
        let (sent, answer, expected) = match step {
            Step::Wait { seconds } => {
                phone.wait(*seconds);
                return Ok(None);
            }
            Step::Fake(fake) => {
                fake.set(phone);
                return Ok(None);
            }
            Step::Text { text, expected } => {
                *last_text = Some(text);
                (format!("text {text:?}"), phone.text(text), expected)
            }
            Step::Retry { expected } => {
                let (sent, answer) = self.retry(n, phone, *last_text)?;
                (sent, answer, expected)
            }
        };
        Ok(Some(Played {
            sent,
            answer,
            expected,
        }))
    }

    /// Step `n`'s retry of `last_text`: invalid before any text, as there is nothing to retry.
    fn retry(
        &self,
        n: usize,
        phone: &mut TestPhone,
        last_text: Option<&str>,
    ) -> Result<(String, Exchange), ReplayError> {
        let invalid = || ReplayError::Invalid {
            transcript: self.source.clone(),
            step: n,
            why: "a retry before any text".into(),
        };
        let text = last_text.ok_or_else(invalid)?;
        let answer = phone.try_retry_elsewhere().ok_or_else(invalid)?;
        Ok((format!("retry of {text:?}"), answer))
    }

    /// Step `n`'s reply against the one recorded, line by line so that the error is a diff.
    fn compare(&self, n: usize, played: Played<'_>) -> Result<(), ReplayError> {
        let (expected, got) = (played.expected.lines(), got_lines(&played.answer));
        if expected == got {
            return Ok(());
        }
        Err(ReplayError::Differs {
            transcript: self.source.clone(),
            step: n,
            sent: played.sent,
            expected,
            got,
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

impl Expected {
    /// The expected reply as diff lines, written as [`got_lines`] writes the answer.
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

/// The answer as diff lines; an HTTP error as one line, so that a diff shows it.
fn got_lines(answer: &Exchange) -> Vec<String> {
    if answer.status != 200 {
        return vec![format!("HTTP {}: {}", answer.status, answer.body)];
    }
    reply_lines(answer.texts().into_iter(), &answer.media())
}
