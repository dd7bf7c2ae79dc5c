//! Texting: new messages and Twilio's retries of them.

use super::{Sent, TestPhone};
use crate::app::{self, Body, HttpRequest};
use crate::harness::executor::run_after_reply;
use crate::harness::twiml::parse_twiml;
use crate::harness::{block_on, Exchange, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_URL};
use crate::twilio::signature;

impl TestPhone {
    /// Texts `body`, as a new message.
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

    fn deliver(&mut self, sid: String, body: String, cookie: Option<String>) -> Exchange {
        self.sync_clock();
        let (form, sig) = self.signed_form(&sid, &body);
        let request = HttpRequest {
            method: "POST",
            url: TEST_URL,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(&sig),
            cookie: cookie.as_deref(),
            authorization: None,
            idempotency_key: None,
            body: Body::Read(form.as_bytes()),
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        let handled = block_on(app::handle(Ok(&self.setup), &request, &runtime));
        let response = handled.response;
        if let Some(kv) = &self.kv {
            kv.apply(handled.writes);
        }
        let after_reply_errors = run_after_reply(handled.after_reply);
        if let Some(set) = &response.set_cookie {
            self.keep_cookie(set);
        }
        self.last = Some(Sent { sid, body, cookie });
        Exchange {
            status: response.status,
            messages: parse_twiml(&response.body),
            outcome: response.log.outcome.name(),
            source: response.log.source,
            set_cookie: response.set_cookie,
            body: response.body,
            after_reply_errors,
            logged_segments: response.log.segments,
        }
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
