//! The log line: one line of JSON per request, for `wrangler tail`, written field by field
//! (strings escaped by serde_json): a derived `Serialize` for the line was 0.4 KB of every
//! worker's gzipped wasm.

use std::fmt::Write;

use super::{json_string, LogEvent};
use crate::twilio::segments::Segments;

impl LogEvent {
    /// One line of JSON, for `wrangler tail`.
    ///
    /// Written field by field (strings escaped by serde_json): a derived `Serialize` for the
    /// line was 0.4 KB of every worker's gzipped wasm.
    pub fn to_json(&self, status: u16, elapsed_ms: u64) -> String {
        let mut line = self.to_json_but_ms(status);
        line.push_str(",\"ms\":");
        push_number(&mut line, elapsed_ms);
        line.push('}');
        line
    }

    /// The line of [`LogEvent::to_json`] without its last field, `ms`, and its closing brace:
    /// the worker's JS entry appends them, since reading the clock there costs less than a
    /// call out of wasm.
    ///
    /// ```
    /// use sms_conversation_worker::response::{LogEvent, Outcome};
    /// let log = LogEvent::new(Outcome::Reply, None);
    /// assert_eq!(log.to_json_but_ms(200) + ",\"ms\":3}", log.to_json(200, 3));
    /// ```
    pub fn to_json_but_ms(&self, status: u16) -> String {
        let mut line = self.head(status);
        self.push_errors(&mut line);
        self.push_segments(&mut line);
        if !self.notes.is_empty() {
            line.push_str(",\"notes\":{");
            line.push_str(&self.notes);
            line.push('}');
        }
        line
    }

    /// The fields every line has: the outcome, the status, the source, the count and the
    /// sender (`null` when unknown), written into a string sized for the whole line.
    fn head(&self, status: u16) -> String {
        let mut line = String::with_capacity(LINE_CAPACITY);
        line.push_str("{\"event\":\"webhook\",\"outcome\":");
        push_string(&mut line, self.outcome.name());
        line.push_str(",\"status\":");
        push_number(&mut line, u64::from(status));
        line.push_str(",\"source\":");
        push_or_null(&mut line, self.source.map(|s| s.name()));
        line.push_str(",\"count\":");
        match self.count {
            Some(count) => push_number(&mut line, count),
            None => line.push_str("null"),
        }
        line.push_str(",\"from\":");
        push_or_null(&mut line, self.from.as_deref());
        line
    }

    /// Each error that happened, a field of its own: none when none did.
    fn push_errors(&self, line: &mut String) {
        for (name, error) in self.errors() {
            if let Some(error) = error {
                let _ = write!(line, ",\"{name}\":{}", json_string(&error));
            }
        }
    }

    /// The errors, by the names the line gives them.
    fn errors(&self) -> [(&'static str, Option<String>); 5] {
        [
            ("kv_error", self.kv_error.as_ref().map(ToString::to_string)),
            (
                "object_error",
                self.object_error.as_ref().map(ToString::to_string),
            ),
            ("seal_error", self.seal_error.map(|e| e.to_string())),
            (
                "state_error",
                self.state_error.as_ref().map(ToString::to_string),
            ),
            ("account_error", self.account_error.clone()),
        ]
    }

    /// What each message of the answer costs, when anything is sent.
    fn push_segments(&self, line: &mut String) {
        if self.segments.is_empty() {
            return;
        }
        line.push_str(",\"segments\":[");
        for (i, s) in self.segments.iter().enumerate() {
            push_segment(line, if i > 0 { "," } else { "" }, s);
        }
        line.push(']');
    }
}

/// One message's cost (its encoding, segments and units), written straight into the line:
/// the log line is built on every webhook, so no string of its own.
fn push_segment(line: &mut String, comma: &str, s: &Segments) {
    line.push_str(comma);
    line.push_str("{\"encoding\":\"");
    line.push_str(s.encoding.name());
    line.push_str("\",\"count\":");
    push_number(line, s.count as u64);
    line.push_str(",\"units\":");
    push_number(line, s.units as u64);
    line.push('}');
}

/// A number in the line, without `core::fmt`: the line is written on every webhook. One
/// integer type, so one copy of the code in the wasm.
fn push_number(line: &mut String, n: u64) {
    line.push_str(itoa::Buffer::new().format(n));
}

/// Bytes reserved for a line: a reply's, with its segments, takes about 200.
const LINE_CAPACITY: usize = 256;

/// A string field's JSON, or `null` when there is none.
fn push_or_null(line: &mut String, field: Option<&str>) {
    match field {
        Some(field) => push_string(line, field),
        None => line.push_str("null"),
    }
}

/// `s` as a JSON string: written straight into the line when nothing in it needs escaping
/// (the names, a masked number), as serde_json would write it; else through serde_json.
fn push_string(line: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        line.push('"');
        line.push_str(s);
        line.push('"');
    } else {
        line.push_str(&json_string(s));
    }
}
