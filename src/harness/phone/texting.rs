//! Texting: new messages and Twilio's retries of them.

use super::{form_post, Sent, TestPhone};
use crate::app::HttpRequest;
use crate::harness::executor::run_after_reply;
use crate::harness::{Exchange, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_URL};
use crate::response::Handled;
use crate::seal::TooLarge;
use crate::twilio::signature;

impl TestPhone {
    /// Texts `body`, as a new message.
    ///
    /// # Panics
    /// When the conversation's state after this message is too large for every store the
    /// phone binds (the cookie alone by default; KV with [`TestPhone::with_kv`], the objects
    /// with [`TestPhone::with_objects`]): the deployed worker would answer, keep nothing and
    /// log `state_too_large` on every such message, so the test fails first, naming the
    /// conversation, the size and the limit.
    pub fn text(&mut self, body: &str) -> Exchange {
        self.sent += 1;
        self.now += 1;
        let sid = format!("SM{:032x}", self.sent);
        let cookie = self.cookie().map(str::to_string);
        self.deliver(sid, body.to_string(), cookie)
    }

    /// Delivers the last message again, with the same MessageSid and the cookie it carried,
    /// as Twilio's retries do.
    ///
    /// # Panics
    /// Before any message was sent.
    pub fn retry(&mut self) -> Exchange {
        let last = self
            .last
            .take()
            .expect("retry() needs a message sent before");
        self.deliver(last.sid, last.body, last.cookie)
    }

    /// Twilio's retry of the last message reaching another isolate: the same MessageSid and
    /// the cookie the first attempt carried (Twilio never got the first answer's), to an
    /// isolate whose memory is empty. Without the objects the worker cannot tell it is a
    /// retry and `reply` runs again; with them the pair's object answers it.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
    /// phone.text("hi");
    /// let again = phone.retry_elsewhere();
    /// assert_eq!((again.outcome, again.texts()), ("reply", vec!["Hello, thanks for the new message."]));
    /// ```
    ///
    /// # Panics
    /// Before any message was sent.
    pub fn retry_elsewhere(&mut self) -> Exchange {
        self.try_retry_elsewhere()
            .expect("retry_elsewhere() needs a message sent before")
    }

    /// [`TestPhone::retry_elsewhere`], `None` before any message was sent.
    pub(crate) fn try_retry_elsewhere(&mut self) -> Option<Exchange> {
        let last = self.last.take()?;
        self.new_isolate();
        Some(self.deliver(last.sid, last.body, last.cookie))
    }

    /// Posts message `sid` as Twilio's webhook with `cookie`, and remembers it for a retry.
    fn deliver(&mut self, sid: String, body: String, cookie: Option<String>) -> Exchange {
        let (form, sig) = self.signed_form(&sid, &body);
        let request = HttpRequest {
            cookie: cookie.as_deref(),
            ..form_post(TEST_URL, &sig, &form)
        };
        let handled = self.handle(&request);
        self.last = Some(Sent { sid, body, cookie });
        self.take_in(handled)
    }

    /// What follows the answer, as the worker and Twilio do it: the KV writes, then a late
    /// reply's send, and the work after the reply run, the cookie kept.
    fn take_in(&mut self, handled: Handled) -> Exchange {
        if let Some(kv) = &self.kv {
            kv.apply(handled.writes);
        }
        let late_reply = handled
            .late_reply
            .map(|late| crate::harness::block_on(late.send()).unwrap_or_else(|line| line));
        self.check_kept(&handled.response.log.notes);
        let after_reply_errors = run_after_reply(handled.after_reply);
        if let Some(set) = &handled.response.set_cookie {
            self.keep_cookie(set);
        }
        let mut exchange = Exchange::new(handled.response, after_reply_errors);
        exchange.late_reply = late_reply;
        exchange
    }

    /// Fails the test when the log's `notes` say the record was too large to keep.
    fn check_kept(&self, notes: &str) {
        let key = format!("\"{}\":\"", TooLarge::NOTE);
        let Some(at) = notes.find(&key) else {
            return;
        };
        let detail = notes[at + key.len()..]
            .split('"')
            .next()
            .unwrap_or_default();
        assert!(
            self.too_large_allowed,
            "the conversation \"{}\" left a state too large to keep ({}): {detail}; \
             the worker would answer, keep nothing and log state_too_large. Keep the state \
             smaller, or bind a larger store (with_kv, with_objects).",
            self.name,
            self.stores(),
        );
    }

    /// The stores the phone binds, for a failure's message.
    fn stores(&self) -> &'static str {
        match (self.objects.is_some(), self.kv.is_some()) {
            (true, _) => "the objects bound",
            (false, true) => "KV bound",
            (false, false) => "the cookie alone",
        }
    }

    /// The same phone, for a test of a state too large to keep: texts that leave one are
    /// answered (and logged) as the worker answers them, rather than failing the test.
    #[cfg(test)]
    pub(crate) fn allowing_too_large(mut self) -> Self {
        self.too_large_allowed = true;
        self
    }

    /// The form of a webhook of this pair, and its `X-Twilio-Signature` under the first
    /// auth token.
    fn signed_form(&self, sid: &str, body: &str) -> (String, String) {
        let form = serde_urlencoded::to_string([
            ("AccountSid", TEST_ACCOUNT_SID),
            ("MessageSid", sid),
            ("From", self.from.as_str()),
            ("To", self.to.as_str()),
            ("Body", body),
            ("NumMedia", "0"),
        ])
        .unwrap_or_default();
        let sig = self.sign(TEST_URL, &form);
        (form, sig)
    }

    /// Twilio's `X-Twilio-Signature` of a POST of `form` to `url`, under the first auth token.
    pub(super) fn sign(&self, url: &str, form: &str) -> String {
        let params = crate::twilio::params::parse_params(form.as_bytes()).unwrap_or_default();
        let data = signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        let token = self
            .vars
            .get("TWILIO_AUTH_TOKEN")
            .map_or(TEST_AUTH_TOKEN, |t| t.split(',').next().unwrap_or(""));
        signature::expected_signature(token, url, &data)
    }
}
