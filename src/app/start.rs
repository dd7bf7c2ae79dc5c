//! `POST /conversations`: the worker starts a conversation through the pair's object.

#[cfg(feature = "objects")]
use crate::config::Config;
#[cfg(feature = "objects")]
use crate::mask::mask_number;
#[cfg(feature = "objects")]
use crate::object_calls::{ObjectError, Objects, StartCall};
use crate::pipeline::{Runtime, Setup};
#[cfg(feature = "objects")]
use crate::record::Pair;
#[cfg(feature = "objects")]
use crate::response::ObjectRejection;
use crate::response::{Handled, Rejection};
#[cfg(feature = "objects")]
use crate::response::{HttpResponse, LogEvent, Outcome};
use crate::storage::Store;
use crate::vars::ConfigError;

#[cfg(feature = "objects")]
use super::request::{bearer_is, is_address};
use super::HttpRequest;
#[cfg(feature = "objects")]
use super::{account_unset, misconfigured, public_origin, split_request_url};

/// Without the `objects` feature the route does not exist, and none of its code is in the
/// wasm: a 404 naming the feature it needs.
#[cfg(not(feature = "objects"))]
pub(super) async fn start_conversation<S: Store>(
    _: Result<&Setup, &ConfigError>,
    _: &HttpRequest<'_>,
    _: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    Err(Rejection::StartsOff)
}

/// `POST /conversations`: the worker starts a conversation. Enabled by `OUTBOUND_API_KEY`
/// (a 404 without it, naming it: the route does not exist, whatever the method) and run by
/// the pair's Durable Object, which sends the opening message and keeps the state for the
/// reply.
#[cfg(feature = "objects")]
pub(super) async fn start_conversation<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let setup = setup.map_err(misconfigured)?;
    let config = &setup.config;
    authorize_start(config.outbound.start_key.as_deref(), req)?;
    let account_sid = sending_account(config)?;
    let (json, to, from) = read_start(req)?;
    let idempotency_key = idempotency_key(req)?;
    let objects = rt
        .objects
        .ok_or(Rejection::from(ObjectRejection::ObjectsUnbound))?;
    let name = object_name(config, &account_sid, &to, &from);
    let log = LogEvent::new(Outcome::Start, Some(mask_number(&to)));
    let (origin, _, _) = split_request_url(req.url);
    let call = StartCall {
        to,
        from,
        account_sid,
        json: json.to_string(),
        now: rt.now,
        idempotency_key,
        origin: public_origin(config, origin).to_string(),
    };
    let (status, body) = started(objects, &name, &call).await?;
    Ok(Handled::only(HttpResponse::json(status, body, log)))
}

/// The account starts send from (`TWILIO_ACCOUNT_SID`), or the misconfiguration it is unset.
#[cfg(feature = "objects")]
fn sending_account(config: &Config) -> Result<String, Rejection> {
    let why = "is not set: POST /conversations sends from this account";
    let account = config.outbound.account_sid.clone();
    account.ok_or_else(|| account_unset(why))
}

/// The object of the pair the start opens: the person's reply will come To our number From
/// theirs.
#[cfg(feature = "objects")]
fn object_name(config: &Config, account_sid: &str, to: &str, from: &str) -> String {
    let pair = Pair {
        account_sid,
        to: from,
        from: to,
    };
    config.storage.keys.object_name(&pair)
}

/// The object's answer to the start: its status and body, or a pending answer when it did
/// not answer in time.
#[cfg(feature = "objects")]
async fn started(
    objects: &dyn Objects,
    name: &str,
    call: &StartCall,
) -> Result<(u16, String), Rejection> {
    match objects.start(name, call).await {
        Ok(answer) => Ok(answer),
        // The object may still be sending: never a failure for what may be delivered.
        Err(ObjectError::TimedOut) => Ok((202, start_pending(call))),
        Err(e) => Err(ObjectRejection::ObjectUnreachable(e).into()),
    }
}

/// The answer to a start whose object did not answer in time.
#[cfg(feature = "objects")]
fn start_pending(call: &StartCall) -> String {
    serde_json::json!({
        "status": "pending",
        "idempotency_key": call.idempotency_key,
        "to": call.to,
        "from": call.from,
        "next": "The pair's object is still at work. Repeat this request with the same Idempotency-Key to learn the result: it never sends twice.",
    })
    .to_string()
}

/// The start's `Idempotency-Key` (printable ASCII, at most 255 bytes), or a new random one
/// the answer names, so even a caller who sent none can repeat the start safely.
#[cfg(feature = "objects")]
fn idempotency_key(req: &HttpRequest<'_>) -> Result<String, Rejection> {
    match req.idempotency_key.map(str::trim) {
        Some(key) if !key.is_empty() => checked_key(key),
        _ => Ok(new_key()),
    }
}

/// The caller's own key, when it is 1 to 255 printable ASCII characters.
#[cfg(feature = "objects")]
fn checked_key(key: &str) -> Result<String, Rejection> {
    if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        let why = "Idempotency-Key must be 1 to 255 printable ASCII characters";
        return Err(ObjectRejection::BadStart(why.into()).into());
    }
    Ok(key.to_string())
}

/// A random key for a caller who sent none (`auto-…`), which the answer names.
#[cfg(feature = "objects")]
fn new_key() -> String {
    crate::seal::new_spill_key()
        .map(|k| format!("auto-{}", k.trim_start_matches("spill:")))
        .unwrap_or_default()
}

/// `POST /conversations` exists only with a `key` (`OUTBOUND_API_KEY`), and takes it as a
/// bearer token.
#[cfg(feature = "objects")]
fn authorize_start(key: Option<&str>, req: &HttpRequest<'_>) -> Result<(), Rejection> {
    let key = key.ok_or(Rejection::StartsOff)?;
    let post = req.method == "POST";
    post.then_some(()).ok_or(ObjectRejection::StartMethod)?;
    let authorized = bearer_is(req, key).then_some(());
    authorized.ok_or(ObjectRejection::Unauthorized.into())
}

/// A start request's JSON object, and its `to` and `from` numbers.
#[cfg(feature = "objects")]
fn read_start<'r>(req: &HttpRequest<'r>) -> Result<(&'r str, String, String), Rejection> {
    let json = std::str::from_utf8(req.body.within_limit()?)
        .map_err(|_| ObjectRejection::BadStart("the body is not UTF-8".into()))?;
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| ObjectRejection::BadStart(format!("the body must be a JSON object ({e})")))?;
    let number = |name: &str| -> Result<String, Rejection> {
        match fields.get(name).and_then(|v| v.as_str()) {
            Some(n) if is_address(n) => Ok(n.to_string()),
            _ => Err(ObjectRejection::BadStart(format!(
                "\"{name}\" must be an E.164 number like \"+14155550100\" (or whatsapp:+1…)"
            ))
            .into()),
        }
    };
    let (to, from) = (number("to")?, number("from")?);
    if to.starts_with("whatsapp:") != from.starts_with("whatsapp:") {
        return Err(ObjectRejection::BadStart(
            "\"to\" and \"from\" must be on the same channel: both whatsapp:+… or both +…".into(),
        )
        .into());
    }
    Ok((json, to, from))
}
