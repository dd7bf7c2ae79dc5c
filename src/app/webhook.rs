//! Twilio's webhook at `/sms` (and its status callbacks at `/sms/status`): route → the
//! parameters → proven Twilio's (`twilio::webhook`) → intent, then the pipeline, which asks
//! the pair's object or answers from the cookie.

use crate::config::{Config, Verification, WebhookMethod};
use crate::conversation::{apart, InboundMessage};
use crate::pipeline::{answer, status_callback, Intent, Runtime, Setup};
use crate::response::{Handled, Rejection};
use crate::storage::{Source, Store};
use crate::twilio::webhook::{verified_message, Keys, Proof};
use crate::vars::ConfigError;

use super::{info, misconfigured, public_origin, route, HttpRequest};

/// The path, step by step: route → the parameters → proven Twilio's → intent → the pair's
/// object or the pipeline. The request's parts go down once: after Twilio's check only its
/// message and cookie go on.
pub(super) async fn webhook<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let (origin, path, query) = route(req)?;
    if req.method == "GET" && query.is_empty() {
        return Ok(info(setup, origin));
    }
    let setup = setup.map_err(misconfigured)?;
    let config = &setup.config;
    let origin = public_origin(config, origin);
    let encoded = read_params(req, query, method_for(config, path))?;
    let proof = proof(config, req);
    let message = verified_message(encoded, &proof, reads_other_params(setup))?;
    let intent = Intent::of(&message, config);
    if intent == Intent::StatusCallback {
        return Ok(apart(status_callback(config, &message, query, rt)).await);
    }
    let mut handled = answer(setup, req.cookie, &message, intent, origin, rt).await;
    handled.response.log.account_error = unstarted_account(config, &message, &handled);
    Ok(handled)
}

/// Whether the message keeps the parameters it does not name, for a conversation that reads
/// them ([`crate::conversation::Conversation::READS_OTHER_PARAMS`]).
fn reads_other_params(setup: &Setup) -> bool {
    #[cfg(feature = "studio")]
    return setup.conversation.reads_other_params();
    #[cfg(not(feature = "studio"))]
    {
        let _ = setup;
        false
    }
}

/// Why this webhook may not continue a conversation `POST /conversations` started: starts
/// open the pair's object under `TWILIO_ACCOUNT_SID`, the reply finds it under the webhook's
/// `AccountSid`, so when they differ the reply starts afresh. Named on a new conversation only
/// (where it shows), and only when starts are on; AccountSids are not secrets.
fn unstarted_account(
    config: &Config,
    message: &InboundMessage,
    handled: &Handled,
) -> Option<String> {
    config.outbound.start_key.as_ref()?;
    let ours = config.outbound.account_sid.as_deref()?;
    let theirs = message.account();
    let new = handled.response.log.source == Some(Source::New);
    (new && ours != theirs).then(|| {
        format!(
            "TWILIO_ACCOUNT_SID is {ours}, this webhook's AccountSid {theirs}: a conversation POST /conversations started is kept under TWILIO_ACCOUNT_SID, so this reply did not continue it (set TWILIO_ACCOUNT_SID to the webhooks' account)"
        )
    })
}

/// The method the webhook takes: `WEBHOOK_METHOD`'s, but status callbacks of the worker's
/// own sends always come by POST.
fn method_for(config: &Config, path: &str) -> WebhookMethod {
    if path.starts_with("/sms/status") {
        WebhookMethod::Post
    } else {
        config.webhook_method
    }
}

/// The webhook's encoded parameters: the form body of a POST, the query of a GET, by the
/// one method `WEBHOOK_METHOD` allows.
fn read_params<'a>(
    req: &HttpRequest<'a>,
    query: &'a str,
    allowed: WebhookMethod,
) -> Result<&'a [u8], Rejection> {
    if !allowed.allows(req.method) {
        return Err(Rejection::WrongWebhookMethod(allowed));
    }
    encoded(req, query)
}

/// What proves the request is Twilio's: its URL and signature, and the auth tokens.
fn proof<'a>(config: &'a Config, req: &HttpRequest<'a>) -> Proof<'a> {
    let keys = match (&config.verification, config.missing_token_error()) {
        (_, Some(problem)) => Keys::Missing(problem),
        (Verification::Signed(verifiers), None) => Keys::Tokens(verifiers),
        _ => Keys::Unsigned,
    };
    Proof {
        url: req.url,
        base_url: config.webhook_base_url.as_deref(),
        signature: req.signature,
        post: req.method == "POST",
        keys,
    }
}

/// The encoded parameters: a POST's form body, a GET's query.
fn encoded<'a>(req: &HttpRequest<'a>, query: &'a str) -> Result<&'a [u8], Rejection> {
    if req.method == "POST" {
        form_body(req)
    } else {
        Ok(query.as_bytes())
    }
}

/// A POST's body, which must be a form (`application/x-www-form-urlencoded`) within the limit.
fn form_body<'a>(req: &HttpRequest<'a>) -> Result<&'a [u8], Rejection> {
    if !is_form(req.content_type) {
        return Err(Rejection::UnsupportedMediaType);
    }
    req.body.within_limit()
}

/// Whether `Content-Type` says the body is a form, whatever its parameters.
fn is_form(content_type: Option<&str>) -> bool {
    let media_type = content_type.and_then(|ct| ct.split(';').next());
    media_type.is_some_and(|ct| {
        ct.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}
