//! The worker's other POSTs: starting a conversation, Twilio's status callbacks.

use super::TestPhone;
use crate::app::{self, Body, HttpRequest};
use crate::harness::{block_on, TEST_ACCOUNT_SID};

impl TestPhone {
    /// `POST /conversations` with `json` and `Authorization: Bearer <bearer>`: the status and
    /// the body.
    pub fn start_conversation(&mut self, bearer: &str, json: &str) -> (u16, String) {
        self.start_conversation_with_key(bearer, None, json)
    }

    /// `POST /conversations` as [`TestPhone::start_conversation`], with an `Idempotency-Key`.
    pub fn start_conversation_with_key(
        &mut self,
        bearer: &str,
        key: Option<&str>,
        json: &str,
    ) -> (u16, String) {
        self.sync_clock();
        let auth = format!("Bearer {bearer}");
        let request = HttpRequest {
            method: "POST",
            url: "https://sms.example.workers.dev/conversations",
            content_type: Some("application/json"),
            authorization: Some(&auth),
            idempotency_key: key,
            body: Body::Read(json.as_bytes()),
            ..Default::default()
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        let handled = block_on(app::handle(Ok(&self.setup), &request, &runtime));
        (handled.response.status, handled.response.body)
    }

    /// Twilio's status callback for a message the worker sent through the Messages API: posted,
    /// signed, to the `StatusCallback` URL the send gave (`callback`), for message `sid` now
    /// `status` (with an `ErrorCode` when given). The HTTP status of the answer.
    pub fn status_callback(
        &mut self,
        callback: &str,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> u16 {
        self.sync_clock();
        let mut fields = vec![
            ("AccountSid", TEST_ACCOUNT_SID),
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("From", self.to.as_str()),
            ("To", self.from.as_str()),
            ("ApiVersion", "2010-04-01"),
        ];
        if let Some(code) = error_code {
            fields.push(("ErrorCode", code));
        }
        let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
        let sig = self.sign(callback, &form);
        let request = HttpRequest {
            method: "POST",
            url: callback,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(&sig),
            body: Body::Read(form.as_bytes()),
            ..Default::default()
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        block_on(app::handle(Ok(&self.setup), &request, &runtime))
            .response
            .status
    }
}
