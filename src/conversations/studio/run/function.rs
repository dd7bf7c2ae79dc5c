//! The Run Function widget (<https://www.twilio.com/docs/studio/widget-library/run-function>):
//! a form POST of its `parameters` to the Function, signed as Twilio signs a webhook so that
//! a protected Function accepts it; `success` for a 2xx answer, `fail` for any other and for
//! no answer (Studio's errors 81010 and 81017), with the outputs the HTTP widget has
//! (`status_code`, `body`, and `parsed` for JSON).
//!
//! Where it goes is the widget's URL as the flow was checked with `STUDIO_FUNCTIONS`: an
//! http(s) URL, or `function:functions/<name>.js` for a Function file of the project, which
//! the Workers adapter runs (natively, a URL like any other, faked in tests).

use std::time::Duration;

use super::http::{form, outputs};
use super::{At, Execution};
use crate::conversations::studio::flow::{Function, Pair, Reads, HTTP_TIMEOUT_SECS};
use crate::conversations::studio::liquid::Budget;
use crate::prelude::{ClientRequest, Context};
use crate::twilio::signature::{expected_signature, params_string};

impl Execution {
    /// Calls the Function, keeps the outputs `reads` names as `at`'s, and tells whether it
    /// succeeded.
    pub(super) async fn run_function(
        &mut self,
        function: &Function,
        at: &At,
        reads: &Reads,
        budget: &Budget,
        ctx: &Context<'_>,
    ) -> bool {
        let pairs = self.parameters(function, budget);
        // Parameters whose templates spent the budget are not sent: the execution stops.
        if budget.spent().is_some() {
            return false;
        }
        let key = step_key(ctx, at, self.steps);
        let token = signing_token(ctx);
        let request = request(&function.url, &pairs, token.as_deref(), key.as_deref());
        let Ok(response) = ctx.fetch(request).await else {
            return false;
        };
        for (field, value) in outputs(&response) {
            self.keep_output(reads, &at.widget, field, value);
        }
        response.is_success()
    }

    /// The widget's `parameters`, rendered over the flow's scope: the form's fields.
    fn parameters(&self, function: &Function, budget: &Budget) -> Vec<(String, String)> {
        let scope = self.scope();
        let render = |p: &Pair| (p.key.clone(), p.value.render(&scope, budget));
        function.parameters.iter().map(render).collect()
    }
}

/// The call: `pairs` as a form POST to `url`, with `X-Twilio-Signature` under `token` when
/// there is one (Twilio's webhook signature: the URL, then the parameters sorted by name,
/// HMAC-SHA1, base64: <https://www.twilio.com/docs/usage/webhooks/webhooks-security>),
/// `key` as its `Idempotency-Key`, and Studio's 10 s limit.
fn request(
    url: &str,
    pairs: &[(String, String)],
    token: Option<&str>,
    key: Option<&str>,
) -> ClientRequest {
    let mut request = ClientRequest::get(url);
    request.method = "POST".into();
    request.body = form(pairs).into_bytes();
    request = (request.header("content-type", FORM)).idempotency_key(key);
    if let Some(token) = token {
        let params = params_string(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        request = request.header(
            "x-twilio-signature",
            expected_signature(token, url, &params),
        );
    }
    request.timeout(Duration::from_secs(HTTP_TIMEOUT_SECS))
}

/// The token the call is signed with: the first of `TWILIO_AUTH_TOKEN` (during a rotation the
/// others only verify; the new one is first once the Functions' account uses it). `None`
/// without one: the call goes unsigned, and a protected Function refuses it.
fn signing_token(ctx: &Context<'_>) -> Option<String> {
    let tokens = ctx.var("TWILIO_AUTH_TOKEN")?;
    let first = tokens.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// The form's content type, as Twilio's own webhooks send it.
const FORM: &str = "application/x-www-form-urlencoded";

/// A key for this call, the same on every attempt at the same step: the hex SHA-256 of the
/// message's key (the same on every retry of it), the flow, the widget and the execution's
/// step count, so two calls of one message (two widgets, or one widget twice) differ. `None`
/// when the context answers no particular message (a context made by hand).
fn step_key(ctx: &Context<'_>, at: &At, steps: u32) -> Option<String> {
    use sha2::{Digest, Sha256};
    let message = ctx.idempotency_key()?;
    let (steps, mut hash) = (steps.to_string(), Sha256::new());
    let fields = [
        "studio run-function v1",
        message,
        &at.flow,
        &at.widget,
        &steps,
    ];
    crate::fields::length_prefixed(fields, |b| hash.update(b));
    Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
