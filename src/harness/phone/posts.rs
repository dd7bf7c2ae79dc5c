//! The worker's other POSTs: starting a conversation, Twilio's status callbacks.

use super::{form_post, TestPhone};
use crate::app::{Body, HttpRequest};
use crate::harness::TEST_ACCOUNT_SID;

/// Where the phone posts `POST /conversations`: the webhook's host, as a worker serves both.
const START_URL: &str = "https://sms.example.workers.dev/conversations";

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
        let auth = format!("Bearer {bearer}");
        let request = HttpRequest {
            method: "POST",
            url: START_URL,
            content_type: Some("application/json"),
            authorization: Some(&auth),
            idempotency_key: key,
            body: Body::Read(json.as_bytes()),
            ..Default::default()
        };
        let response = self.handle(&request).response;
        (response.status, response.body)
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
        let form = self.status_form(sid, status, error_code);
        let sig = self.sign(callback, &form);
        self.handle(&form_post(callback, &sig, &form))
            .response
            .status
    }

    /// The form of Twilio's status callback for message `sid`, sent from the worker's number
    /// to the phone: the reverse of a webhook's pair.
    fn status_form(&self, sid: &str, status: &str, error_code: Option<&str>) -> String {
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
        serde_urlencoded::to_string(&fields).unwrap_or_default()
    }
}
