//! The object's answer as the worker's response, and back: the log's outcome typed on both
//! sides of the call. Here rather than in `object_calls`, so that the calls stay a leaf
//! the response never has to import back.

use super::{Handled, HttpResponse, LogEvent, Outcome};
use crate::object_calls::{AnsweredOutcome, ObjectAnswer};
use crate::storage::Source;

impl From<&Outcome> for AnsweredOutcome {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Retry => AnsweredOutcome::Retry,
            Outcome::Reset => AnsweredOutcome::Reset,
            Outcome::OptOut => AnsweredOutcome::OptOut,
            Outcome::OptIn => AnsweredOutcome::OptIn,
            Outcome::OptedOut => AnsweredOutcome::OptedOut,
            Outcome::Help => AnsweredOutcome::Help,
            #[cfg(feature = "objects")]
            Outcome::Late => AnsweredOutcome::Late,
            _ => AnsweredOutcome::Reply,
        }
    }
}

impl From<AnsweredOutcome> for Outcome {
    fn from(outcome: AnsweredOutcome) -> Self {
        match outcome {
            AnsweredOutcome::Reply => Outcome::Reply,
            AnsweredOutcome::Retry => Outcome::Retry,
            AnsweredOutcome::Reset => Outcome::Reset,
            AnsweredOutcome::OptOut => Outcome::OptOut,
            AnsweredOutcome::OptIn => Outcome::OptIn,
            AnsweredOutcome::OptedOut => Outcome::OptedOut,
            AnsweredOutcome::Help => Outcome::Help,
            #[cfg(feature = "objects")]
            AnsweredOutcome::Late => Outcome::Late,
        }
    }
}

impl ObjectAnswer {
    #[cfg(feature = "objects")]
    pub(crate) fn from_handled(handled: &Handled) -> Self {
        let r = &handled.response;
        ObjectAnswer {
            body: r.body.clone(),
            set_cookie: r.set_cookie.clone(),
            outcome: AnsweredOutcome::from(&r.log.outcome),
            source: r.log.source,
            count: r.log.count,
            writes: handled.writes.clone(),
            segments: r.log.segments.clone(),
            notes: r.log.notes.clone(),
        }
    }

    /// The worker's response, from what the object answered.
    pub fn into_handled(self, from: Option<String>) -> Handled {
        let log = LogEvent {
            source: Some(self.source.unwrap_or(Source::Object)),
            count: self.count,
            segments: self.segments,
            notes: self.notes,
            ..LogEvent::new(self.outcome.into(), from)
        };
        Handled {
            response: HttpResponse::twiml(self.body, self.set_cookie, log),
            writes: self.writes,
            after_reply: Vec::new(),
            late_reply: None,
        }
    }
}
