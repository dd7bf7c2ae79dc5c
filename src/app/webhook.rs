//! Twilio's webhook at `/sms`: route → authenticate → intent, then the pair's object or the
//! pipeline; and the status callbacks of the worker's own sends at `/sms/status`.

use crate::config::{Config, Verification, WebhookMethod};
use crate::conversation::InboundMessage;
use crate::conversation::Reply;
use crate::mask::mask_number;
#[cfg(feature = "objects")]
use crate::object_calls::{ObjectError, Objects, StatusCall, WebhookCall};
use crate::pipeline::{respond, Intent, Runtime, Setup};
#[cfg(feature = "objects")]
use crate::record::Pair;
use crate::response::{Handled, LogEvent, Outcome, Rejection};
use crate::storage::Store;
use crate::twilio::params::{self, Params};
use crate::twilio::{signature, twiml};
use crate::vars::ConfigError;

use super::{info, misconfigured, public_origin, route, HttpRequest};

/// The path, step by step.
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
    let params = read_params(req, query, method_for(config, path))?;
    authenticate(config, req, &params)?;
    let message = InboundMessage::from_params(&params)?;
    let intent = Intent::of(&message, config);
    if intent == Intent::StatusCallback {
        return Ok(status_callback(config, &message, query, rt).await);
    }
    let origin = public_origin(config, origin);
    Ok(answer(setup, req, &message, intent, origin, rt).await)
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

/// A delivery report: handed to the pair's object when there are objects, answered with an
/// empty `<Response/>`.
#[cfg_attr(not(feature = "objects"), allow(unused_variables))]
async fn status_callback<S: Store>(
    config: &Config,
    message: &InboundMessage,
    query: &str,
    rt: &Runtime<'_, S>,
) -> Handled {
    let from = Some(mask_number(&message.from));
    #[cfg_attr(not(feature = "objects"), allow(unused_mut))]
    let mut log = LogEvent::new(Outcome::StatusCallback, from);
    #[cfg(feature = "objects")]
    if let Some(objects) = rt.objects {
        log.object_error = delivery_status(objects, config, message, query, rt.now)
            .await
            .err();
    }
    Handled::twiml(twiml::render(&Reply::none()), None, log)
}

/// The answer to a message: the pair's object's, or the pipeline's from the cookie when
/// there is no object or it cannot answer.
async fn answer<S: Store>(
    setup: &Setup,
    req: &HttpRequest<'_>,
    message: &InboundMessage,
    intent: Intent,
    origin: &str,
    rt: &Runtime<'_, S>,
) -> Handled {
    // With the Durable Objects binding, the pair's object answers; when it cannot, the
    // worker answers from the cookie. Without the feature none of it is in the wasm.
    #[cfg(feature = "objects")]
    let object_error = match object_answer(&setup.config, req, message, origin, rt).await {
        Ok(handled) => return handled,
        Err(e) => e,
    };
    #[cfg(not(feature = "objects"))]
    let (object_error, _) = (None, origin);
    let (mut handled, done) = respond(setup, message, intent, req.cookie, rt, None).await;
    handled.response.log.follow_up_ignored = rt.objects.is_none() && done.follow_up.is_some();
    handled.response.log.object_error = object_error;
    handled
}

/// The pair's object's answer, or why it gave none (`None`: no objects are bound).
#[cfg(feature = "objects")]
async fn object_answer<S: Store>(
    config: &Config,
    req: &HttpRequest<'_>,
    message: &InboundMessage,
    origin: &str,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Option<ObjectError>> {
    let objects = rt.objects.ok_or(None)?;
    let call = WebhookCall {
        message: message.clone(),
        cookie: req.cookie.map(str::to_string),
        now: rt.now,
        origin: origin.to_string(),
    };
    // One message at a time, against the newest record.
    let name = config.storage.keys.object_name(&Pair::of(message));
    match objects.webhook(&name, &call).await {
        Ok(answer) => Ok(answer.into_handled(Some(mask_number(&message.from)))),
        Err(e) => Err(Some(e)),
    }
}

/// Hands a status callback to the object of the pair it concerns: a message we sent goes From
/// our number To the person, whose own messages come the other way.
#[cfg(feature = "objects")]
async fn delivery_status(
    objects: &dyn Objects,
    config: &Config,
    message: &InboundMessage,
    query: &str,
    now: u64,
) -> Result<(), ObjectError> {
    let name = config.storage.keys.object_name(&sent_pair(message));
    objects
        .status(&name, &status_call(message, query, now))
        .await
}

/// The pair of a message we sent: From our number To the person, whose own messages come
/// the other way.
#[cfg(feature = "objects")]
fn sent_pair(message: &InboundMessage) -> Pair<'_> {
    Pair {
        account_sid: message.account(),
        to: &message.from,
        from: &message.to,
    }
}

/// The delivery report as the object takes it: the message, its status, its error code, and
/// which of the object's sends it was (the callback URL's `o`).
#[cfg(feature = "objects")]
fn status_call(message: &InboundMessage, query: &str, now: u64) -> StatusCall {
    StatusCall {
        message_sid: message.sid().to_string(),
        status: message.message_status.clone().unwrap_or_default(),
        error_code: message.error_code.as_deref().and_then(|c| c.parse().ok()),
        send: send_in_query(query),
        now,
    }
}

/// The object's send a status callback reports on: the `o` its URL's query names.
#[cfg(feature = "objects")]
fn send_in_query(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "o")
        .map(|(_, v)| v.into_owned())
}

/// The webhook's parameters: the form body of a POST, the query of a GET, by the one
/// method `WEBHOOK_METHOD` allows.
fn read_params<'a>(
    req: &HttpRequest<'a>,
    query: &'a str,
    allowed: WebhookMethod,
) -> Result<Params<'a>, Rejection> {
    if !allowed.allows(req.method) {
        return Err(Rejection::WrongWebhookMethod(allowed));
    }
    let encoded = encoded(req, query)?;
    Ok(params::parse_params(encoded)?)
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

/// Nothing below runs for a request that is not Twilio's: `X-Twilio-Signature` must match
/// one of the auth tokens.
fn authenticate(
    config: &Config,
    req: &HttpRequest<'_>,
    params: &Params<'_>,
) -> Result<(), Rejection> {
    if let Some(problem) = config.missing_token_error() {
        return Err(Rejection::Misconfigured(problem));
    }
    let Verification::Signed(verifiers) = &config.verification else {
        // ALLOW_UNSIGNED_WEBHOOKS=true and no token.
        return Ok(());
    };
    let signature = req.signature.ok_or(Rejection::MissingSignature)?;
    let params = signed_params(req, params);
    let urls = signature::candidate_urls(req.url, config.webhook_base_url.as_deref());
    let valid = verifiers
        .iter()
        .any(|v| v.is_valid(urls.iter().map(String::as_str), &params, signature));
    valid.then_some(()).ok_or(Rejection::BadSignature)
}

/// The parameters as the signature covers them: a POST's sorted and joined; none for a GET,
/// whose parameters are in the URL, which is signed as a whole.
fn signed_params(req: &HttpRequest<'_>, params: &Params<'_>) -> String {
    if req.method == "POST" {
        signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    } else {
        String::new()
    }
}
