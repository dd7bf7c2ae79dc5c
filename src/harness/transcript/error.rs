//! Why a transcript did not replay, shown as a diff of the reply.

use crate::vars::ConfigError;

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
                write_diff(f, expected, got)
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// The diff of a reply that differs, a line each; an empty reply said so, as it has no line.
fn write_diff(
    f: &mut std::fmt::Formatter<'_>,
    expected: &[String],
    got: &[String],
) -> std::fmt::Result {
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

/// The lines of `expected` and `got` in order, each marked ` ` (both), `-` (expected only) or
/// `+` (got only): a longest-common-subsequence diff, fine for a reply's few lines.
pub(super) fn diff<'a>(expected: &'a [String], got: &'a [String]) -> Vec<(char, &'a str)> {
    let (n, m) = (expected.len(), got.len());
    let common = common_lengths(expected, got);
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

/// `common[i][j]`: the length of the longest common subsequence of `expected[i..]` and
/// `got[j..]`, which tells [`diff`] which side to take a line from.
fn common_lengths(expected: &[String], got: &[String]) -> Vec<Vec<usize>> {
    let (n, m) = (expected.len(), got.len());
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
    common
}
