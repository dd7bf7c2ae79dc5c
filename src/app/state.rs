//! The state API for one pair, `/conversations/state?from=…&to=…` (workers with KV or the
//! objects): look at a conversation, end it, or correct its state, without asking the person
//! to text RESET.
//!
//! - Enabled by `ADMIN_API_KEY` (at least 32 bytes): without it the route does not exist
//!   (404). Callers send `Authorization: Bearer <it>`, compared in constant time (401).
//! - `GET` answers the pair's record as JSON, its state read by the conversation; `DELETE`
//!   ends the conversation as RESET does (the MessageSid window and the opt-out stay); `PUT`
//!   with `{"state": …}` replaces the state, checked against the conversation's state type.
//! - The pair's account is `TWILIO_ACCOUNT_SID`. The pair's object answers when the objects
//!   are bound (its record is the one that counts); else KV does, and the webhook then reads
//!   the pair's KV entry on every message, so a change made here wins over the cookie Twilio
//!   holds (KV is eventually consistent: a change reaches other locations within a minute).
//!   With neither bound the cookie is the only copy: 409.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::HttpRequest;
use crate::config::ConfigError;
use crate::mask::mask_number;
pub use crate::object_calls::StateOp;
use crate::pipeline::{Runtime, Setup};
use crate::record::{Pair, Record};
#[cfg(feature = "objects")]
use crate::response::ObjectRejection;
use crate::response::{AdminRejection, Handled, HttpResponse, LogEvent, Outcome, Rejection};
use crate::state_ops::apply;
use crate::storage::{KvWrite, Source, Storage, Store};

/// `/conversations/state`: the request checked, then the pair's object or KV asked.
pub(crate) async fn state_api<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let setup = setup.map_err(super::misconfigured)?;
    let account_sid = authorize(setup, req)?;
    let (from, to) = pair_in_query(req.url)?;
    let op = operation(req)?;
    let pair = Pair {
        account_sid,
        to: &to,
        from: &from,
    };
    let (status, body, writes) = run(setup, &pair, op, rt).await?;
    let log = LogEvent::new(Outcome::Admin, Some(mask_number(&from)));
    let mut handled = Handled::only(HttpResponse::json(status, body, log));
    handled.writes = writes;
    Ok(handled)
}

/// The state API's gate: the route exists with `ADMIN_API_KEY`, takes its methods and the
/// key as a bearer token, and reads the pairs of `TWILIO_ACCOUNT_SID`, which it answers.
fn authorize<'s>(setup: &'s Setup, req: &HttpRequest<'_>) -> Result<&'s str, Rejection> {
    let admin = setup.config.admin.as_ref().ok_or(Rejection::NotFound)?;
    if !matches!(req.method, "GET" | "PUT" | "DELETE") {
        return Err(AdminRejection::Method.into());
    }
    if !super::request::bearer_is(req, &admin.key) {
        return Err(AdminRejection::Unauthorized.into());
    }
    let why = "is not set: the state API reads the pairs of this account";
    admin
        .account_sid
        .as_deref()
        .ok_or_else(|| super::account_unset(why))
}

/// Runs the operation where the pair's record is kept: its object, else KV.
async fn run<S: Store>(
    setup: &Setup,
    pair: &Pair<'_>,
    op: StateOp,
    rt: &Runtime<'_, S>,
) -> Result<(u16, String, Vec<KvWrite>), Rejection> {
    match (rt.objects, rt.kv) {
        (Some(objects), _) => {
            let (status, body) = through_object(objects, setup, pair, op, rt.now).await?;
            Ok((status, body, Vec::new()))
        }
        (None, Some(kv)) => Ok(in_kv(setup, kv, pair, &op, rt.now).await),
        (None, None) => Err(AdminRejection::StoresUnbound.into()),
    }
}

/// `from` (the person) and `to` (your number) from the query, each E.164 or `whatsapp:`.
fn pair_in_query(url: &str) -> Result<(String, String), Rejection> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    Ok((address_in(query, "from")?, address_in(query, "to")?))
}

/// The address the query names `name`, or the request's fault when it is missing or not one.
fn address_in(query: &str, name: &str) -> Result<String, Rejection> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| super::request::is_address(v))
        .ok_or_else(|| {
            AdminRejection::BadRequest(format!(
                "`{name}` must be an E.164 number like +14155550100 (or whatsapp:+1…): /conversations/state?from=<the person>&to=<your number>"
            ))
            .into()
        })
}

/// A `PUT`'s body: the state to replace the conversation's with.
#[derive(Deserialize)]
struct Put<'a> {
    #[serde(borrow)]
    state: &'a RawValue,
}

/// What the method and body ask for.
fn operation(req: &HttpRequest<'_>) -> Result<StateOp, Rejection> {
    match req.method {
        "GET" => Ok(StateOp::Get),
        "DELETE" => Ok(StateOp::Reset),
        _ => put(req),
    }
}

/// A `PUT`'s operation: its body's `state`, within the body limit.
fn put(req: &HttpRequest<'_>) -> Result<StateOp, Rejection> {
    let body = match req.body {
        super::Body::Read(bytes) if bytes.len() <= crate::response::MAX_BODY_BYTES => bytes,
        _ => return Err(Rejection::TooLarge),
    };
    let put: Put = serde_json::from_slice(body).map_err(|e| {
        AdminRejection::BadRequest(format!("the body must be {{\"state\": …}} ({e})"))
    })?;
    Ok(StateOp::Put(put.state.get().to_string()))
}

/// The pair's object answers: its record is the one that counts.
#[cfg(feature = "objects")]
async fn through_object(
    objects: &dyn crate::object_calls::Objects,
    setup: &Setup,
    pair: &Pair<'_>,
    op: StateOp,
    now: u64,
) -> Result<(u16, String), Rejection> {
    let name = setup.config.storage.keys.object_name(pair);
    let call = crate::object_calls::StateCall { op, now };
    objects
        .state(&name, &call)
        .await
        .map_err(|e| ObjectRejection::ObjectUnreachable(e).into())
}

#[cfg(not(feature = "objects"))]
async fn through_object(
    _: &dyn crate::object_calls::Objects,
    _: &Setup,
    _: &Pair<'_>,
    _: StateOp,
    _: u64,
) -> Result<(u16, String), Rejection> {
    Err(AdminRejection::StoresUnbound.into())
}

/// KV answers: the pair's entry, written back (sealed as the worker seals it) when changed.
async fn in_kv<S: Store>(
    setup: &Setup,
    kv: &S,
    pair: &Pair<'_>,
    op: &StateOp,
    now: u64,
) -> (u16, String, Vec<KvWrite>) {
    let settings = &setup.config.storage;
    let storage = Storage::new(settings, *pair, now, Some(kv), None);
    let loaded = storage.load(None).await;
    if let Some(e) = loaded.kv_error {
        return failed(503, format!("KV did not answer: {e}"));
    }
    let found = (loaded.source != Some(Source::New)).then_some(Rc::unwrap_or_clone(loaded.record));
    let conversation = setup.conversation.as_ref();
    let (status, body, changed) = apply(op, pair, found, Source::Kv, conversation, now);
    match changed {
        Some(changed) => {
            let expires_at = kv_expiry(&changed, now, settings.kv_ttl_seconds);
            written_back(&storage, &changed, expires_at, (status, body))
        }
        None => (status, body, Vec::new()),
    }
}

/// The API's answer with the changed record's KV entry to write, or the failure to seal it.
fn written_back<S: Store>(
    storage: &Storage<'_, S>,
    changed: &Record,
    expires_at: u64,
    (status, body): (u16, String),
) -> (u16, String, Vec<KvWrite>) {
    match storage.pair_entry(changed, expires_at) {
        Ok(Ok(write)) => (status, body, vec![write]),
        Ok(Err(e)) => failed(
            413,
            format!("the state is too large to keep: {}", e.detail()),
        ),
        Err(e) => failed(500, format!("the record was not sealed: {e}")),
    }
}

/// When the changed record's KV entry expires: a reset record has no last message, so it
/// lives from now.
fn kv_expiry(changed: &Record, now: u64, ttl: u64) -> u64 {
    changed.last_seen.max(now).saturating_add(ttl)
}

/// An answer that failed: the status and `{"error": why}`, nothing to write.
fn failed(status: u16, why: String) -> (u16, String, Vec<KvWrite>) {
    let body = serde_json::json!({ "error": why });
    (status, body.to_string(), Vec::new())
}

#[cfg(test)]
mod tests;
