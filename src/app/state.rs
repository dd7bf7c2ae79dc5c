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

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::app::{HttpRequest, Runtime, Setup};
use crate::config::ConfigError;
use crate::conversation::Converse;
use crate::mask::mask_number;
pub use crate::objects::calls::StateOp;
use crate::record::{Pair, Record};
use crate::response::{Handled, HttpResponse, LogEvent, Outcome, Rejection};
use crate::storage::{KvWrite, Source, Storage, Store};

/// A change made through the API raises the record's sequence this far, so it wins over
/// every copy written before it (a cookie Twilio holds, a message answered meanwhile).
pub const SEQ_JUMP: u64 = 1_000;

/// The API's answer for `record` (as it was found where `source` says), and the record to
/// keep when the operation changed it.
pub fn apply(
    op: &StateOp,
    pair: &Pair<'_>,
    record: Option<Record>,
    source: Source,
    conversation: &dyn Converse,
    now: u64,
) -> (u16, String, Option<Record>) {
    let Some(record) = record else {
        let body = serde_json::json!({"error": "no conversation is kept for this pair"});
        return (404, body.to_string(), None);
    };
    let changed = match op {
        StateOp::Get => None,
        StateOp::Reset => Some(record.reset("", Default::default(), now)),
        StateOp::Put(state) => match conversation.check_state(state) {
            Ok(saved) => Some(Record {
                state: saved,
                ..record.clone()
            }),
            Err(why) => {
                return (400, serde_json::json!({ "error": why }).to_string(), None);
            }
        },
    };
    let Some(mut changed) = changed else {
        return (200, describe(pair, &record, source, conversation), None);
    };
    changed.seq = changed.seq.saturating_add(SEQ_JUMP);
    (
        200,
        describe(pair, &changed, source, conversation),
        Some(changed),
    )
}

/// The record as the API shows it: the pair, the bookkeeping, the state read by the conversation, the
/// turns, the standing, and where it came from. Serialized from borrowed fields, the state
/// as the conversation's own JSON text: no `serde_json::Value` in the wasm.
fn describe(
    pair: &Pair<'_>,
    record: &Record,
    source: Source,
    conversation: &dyn Converse,
) -> String {
    #[derive(Serialize)]
    struct Shown<'a> {
        at: u64,
        message_sid: &'a str,
        inbound: &'a str,
        replies: Vec<&'a str>,
        media: Vec<&'a str>,
    }
    #[derive(Serialize)]
    struct Described<'a> {
        from: &'a str,
        to: &'a str,
        count: u64,
        seq: u64,
        first_seen: u64,
        last_seen: u64,
        last_message_sid: Option<&'a str>,
        state: Box<RawValue>,
        state_version: u32,
        turns: Vec<Shown<'a>>,
        opted_out: bool,
        opted_out_at: Option<u64>,
        last_inbound: u64,
        last_sent: u64,
        #[cfg(feature = "objects")]
        deliveries: &'a [crate::conversation::Delivery],
        source: &'static str,
    }
    let turns = record
        .turns
        .iter()
        .map(|t| Shown {
            at: t.at,
            message_sid: &t.message_sid,
            inbound: &t.inbound,
            replies: t.reply.texts(),
            media: t
                .reply
                .messages()
                .iter()
                .flat_map(|m| m.media().iter().map(String::as_str))
                .collect(),
        })
        .collect();
    let state = RawValue::from_string(conversation.describe_state(&record.state))
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default());
    let standing = &record.standing;
    let described = Described {
        from: pair.from,
        to: pair.to,
        count: record.count,
        seq: record.seq,
        first_seen: record.first_seen,
        last_seen: record.last_seen,
        last_message_sid: record.last_message_sid(),
        state,
        state_version: record.state.version,
        turns,
        opted_out: record.opted_out(),
        opted_out_at: standing.opted_out,
        last_inbound: standing.last_inbound,
        last_sent: standing.last_sent,
        #[cfg(feature = "objects")]
        deliveries: &standing.deliveries,
        source: source.name(),
    };
    serde_json::to_string(&described).unwrap_or_default()
}

/// `/conversations/state`: the request checked, then the pair's object or KV asked.
pub(crate) async fn state_api<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let setup = setup.map_err(|e| Rejection::Misconfigured(e.clone()))?;
    let admin = setup.config.admin.as_ref().ok_or(Rejection::NotFound)?;
    if !matches!(req.method, "GET" | "PUT" | "DELETE") {
        return Err(Rejection::AdminMethod);
    }
    if !crate::app::bearer_is(req, &admin.key) {
        return Err(Rejection::AdminUnauthorized);
    }
    let account_sid = admin.account_sid.as_deref().ok_or_else(|| {
        Rejection::Misconfigured(ConfigError::new(
            "TWILIO_ACCOUNT_SID",
            "is not set: the state API reads the pairs of this account",
        ))
    })?;
    let (from, to) = pair_in_query(req.url)?;
    let op = operation(req)?;
    let pair = Pair {
        account_sid,
        to: &to,
        from: &from,
    };
    let (status, body, writes) = match (rt.objects, rt.kv) {
        (Some(objects), _) => {
            let (status, body) = through_object(objects, setup, &pair, op, rt.now).await?;
            (status, body, Vec::new())
        }
        (None, Some(kv)) => in_kv(setup, kv, &pair, &op, rt.now).await,
        (None, None) => return Err(Rejection::StoresUnbound),
    };
    let log = LogEvent::new(Outcome::Admin, Some(mask_number(&from)));
    let mut handled = Handled::only(HttpResponse::json(status, body, log));
    handled.writes = writes;
    Ok(handled)
}

/// `from` (the person) and `to` (your number) from the query, each E.164 or `whatsapp:`.
fn pair_in_query(url: &str) -> Result<(String, String), Rejection> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let find = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| crate::app::is_address(v))
            .ok_or_else(|| {
                Rejection::BadAdmin(format!(
                    "`{name}` must be an E.164 number like +14155550100 (or whatsapp:+1…): /conversations/state?from=<the person>&to=<your number>"
                ))
            })
    };
    Ok((find("from")?, find("to")?))
}

/// What the method and body ask for.
fn operation(req: &HttpRequest<'_>) -> Result<StateOp, Rejection> {
    #[derive(Deserialize)]
    struct Put<'a> {
        #[serde(borrow)]
        state: &'a RawValue,
    }
    match req.method {
        "GET" => Ok(StateOp::Get),
        "DELETE" => Ok(StateOp::Reset),
        _ => {
            let body = match req.body {
                crate::app::Body::Read(bytes) if bytes.len() <= crate::app::MAX_BODY_BYTES => bytes,
                _ => return Err(Rejection::TooLarge),
            };
            let put: Put = serde_json::from_slice(body).map_err(|e| {
                Rejection::BadAdmin(format!("the body must be {{\"state\": …}} ({e})"))
            })?;
            Ok(StateOp::Put(put.state.get().to_string()))
        }
    }
}

/// The pair's object answers: its record is the one that counts.
#[cfg(feature = "objects")]
async fn through_object(
    objects: &dyn crate::objects::Objects,
    setup: &Setup,
    pair: &Pair<'_>,
    op: StateOp,
    now: u64,
) -> Result<(u16, String), Rejection> {
    let name = setup.config.storage.keys.object_name(pair);
    let call = crate::objects::StateCall { op, now };
    objects
        .state(&name, &call)
        .await
        .map_err(Rejection::ObjectUnreachable)
}

#[cfg(not(feature = "objects"))]
async fn through_object(
    _: &dyn crate::objects::Objects,
    _: &Setup,
    _: &Pair<'_>,
    _: StateOp,
    _: u64,
) -> Result<(u16, String), Rejection> {
    Err(Rejection::StoresUnbound)
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
        let body = serde_json::json!({"error": format!("KV did not answer: {e}")});
        return (503, body.to_string(), Vec::new());
    }
    let found = (loaded.source != Some(Source::New)).then_some(loaded.record);
    let (status, body, changed) = apply(
        op,
        pair,
        found,
        Source::Kv,
        setup.conversation.as_ref(),
        now,
    );
    let Some(changed) = changed else {
        return (status, body, Vec::new());
    };
    // A reset record has no last message: it lives from now.
    let expires_at = changed
        .last_seen
        .max(now)
        .saturating_add(settings.kv_ttl_seconds);
    match storage.pair_entry(&changed, expires_at) {
        Ok(write) => (status, body, vec![write]),
        Err(e) => {
            let body = serde_json::json!({"error": format!("the record was not sealed: {e}")});
            (500, body.to_string(), Vec::new())
        }
    }
}

#[cfg(test)]
mod tests;
