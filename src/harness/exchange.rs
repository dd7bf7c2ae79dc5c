//! What the worker answered to one text, as the test reads it.

use super::twiml::parse_twiml;
use crate::response::HttpResponse;
use crate::storage::Source;
use crate::twilio::segments::{segments, Segments};

/// What the worker answered to one text.
///
/// ```
/// use sms_conversation_worker::conversations::Counter;
/// use sms_conversation_worker::prelude::*;
///
/// let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
/// let exchange: Exchange = phone.text("hi");
/// assert_eq!((exchange.status, exchange.outcome), (200, "reply"));
/// assert_eq!(exchange.texts(), ["Hello, thanks for the new message."]);
/// assert!(exchange.media().is_empty() && exchange.after_reply_errors().is_empty());
/// assert!(exchange.body.starts_with("<?xml")); // the TwiML Twilio got
/// ```
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP status.
    pub status: u16,
    /// The response body (TwiML, or an error's text).
    pub body: String,
    /// The log's outcome: `reply`, `retry`, `reset`, `opt_out`, or a rejection's name.
    pub outcome: &'static str,
    /// Where the record came from.
    pub source: Option<Source>,
    /// The `Set-Cookie` header.
    pub set_cookie: Option<String>,
    /// Each `<Message>`'s text and media, read back from the body as Twilio would.
    messages: Vec<(String, Vec<String>)>,
    after_reply_errors: Vec<String>,
    /// The log line's `segments`, for the crate's tests to check against
    /// [`Exchange::segments`].
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) logged_segments: Vec<Segments>,
    /// The request's log line, as `wrangler tail` shows it (its `ms` 0), for the crate's
    /// tests of what the log names.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) log_line: String,
    /// The `{"event":"late_reply",…}` line of a reply that went late with KV alone (sent
    /// through the Messages API after the answer), for the crate's tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) late_reply: Option<String>,
}

impl Exchange {
    /// The worker's `response`, with the errors of the work it left for after the reply (which
    /// the response never shows: the worker only logs them).
    pub(super) fn new(response: HttpResponse, after_reply_errors: Vec<String>) -> Exchange {
        let log_line = response.log.to_json(response.status, 0);
        Exchange {
            log_line,
            status: response.status,
            messages: parse_twiml(&response.body),
            outcome: response.log.outcome.name(),
            source: response.log.source,
            set_cookie: response.set_cookie,
            body: response.body,
            after_reply_errors,
            logged_segments: response.log.segments,
            late_reply: None,
        }
    }

    /// The text of each `<Message>`.
    pub fn texts(&self) -> Vec<&str> {
        self.messages.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// Every `<Media>` URL, in order.
    pub fn media(&self) -> Vec<&str> {
        self.messages
            .iter()
            .flat_map(|(_, m)| m.iter().map(String::as_str))
            .collect()
    }

    /// What each `<Message>`'s text costs (encoding and segments), in order: what the log
    /// line's `segments` says.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::counter::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// use sms_conversation_worker::twilio::segments::Encoding;
    /// let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
    /// let answer = phone.text("hi");
    /// assert_eq!(answer.segments()[0].encoding, Encoding::Gsm7);
    /// assert_eq!(answer.segments()[0].count, 1);
    /// ```
    pub fn segments(&self) -> Vec<Segments> {
        self.messages.iter().map(|(t, _)| segments(t)).collect()
    }

    /// `name: error` of each after-reply task that failed.
    pub fn after_reply_errors(&self) -> &[String] {
        &self.after_reply_errors
    }
}
