//! Starts (`POST /conversations`): a conversation opened from our side (feature `objects`).

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::calls::{ObjectError, StartCall};
use super::outbox::{Outgoing, Why};
use super::sends::{forms, proceed, OUTSIDE_WINDOW};
use super::storage::{
    load_outgoing, load_pair, load_record, packed, save_pair, unpacked, ObjectStore, StoredPair,
    STARTS,
};

use crate::app::{Runtime, Setup};
use crate::conversation::{Context, Reply, SavedState, Start};
use crate::record::Record;
use crate::storage::Store;
use crate::twilio::messages::SendError;
use crate::twilio::segments::as_configured;

/// How long a start's answer is kept for a repeat with its idempotency key.
pub const START_KEY_SECONDS: u64 = 24 * 60 * 60;
/// At most this many starts' answers are kept.
pub(super) const MAX_STARTS_KEPT: usize = 50;

/// A start's answer, kept for a repeat with its idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StartAnswer {
    status: u16,
    body: String,
    at: u64,
}

/// The idempotency key of a start.
pub(super) fn start_key(why: &Why) -> Option<&str> {
    match why {
        Why::Start { key } => Some(key),
        Why::FollowUp { .. } => None,
    }
}

pub(super) async fn load_starts<O: ObjectStore>(
    store: &O,
) -> Result<BTreeMap<String, StartAnswer>, ObjectError> {
    Ok(match store.get(STARTS).await? {
        Some(text) => unpacked(&text).unwrap_or_default(),
        None => BTreeMap::new(),
    })
}

/// Keeps `answer` as the answer to the start `why` names (nothing for a follow-up), dropping
/// answers older than [`START_KEY_SECONDS`].
pub(super) async fn finish_start<O: ObjectStore>(
    store: &O,
    why: &Why,
    answer: (u16, String),
    now: u64,
) -> Result<(), ObjectError> {
    let Some(key) = start_key(why) else {
        return Ok(());
    };
    let mut starts = load_starts(store).await?;
    starts.retain(|_, a| a.at.saturating_add(START_KEY_SECONDS) > now);
    while starts.len() >= MAX_STARTS_KEPT {
        let oldest = starts
            .iter()
            .min_by_key(|(_, a)| a.at)
            .map(|(k, _)| k.clone());
        let Some(oldest) = oldest else { break };
        starts.remove(&oldest);
    }
    let (status, body) = answer;
    starts.insert(
        key.to_string(),
        StartAnswer {
            status,
            body,
            at: now,
        },
    );
    Ok(store.put(STARTS, &packed(&starts)?).await?)
}

/// Starts a conversation from our side: the conversation's opening message goes out through
/// the Messages API and the object keeps the state, so the person's reply (which comes with
/// no cookie) continues it. Answers the status and JSON body of `POST /conversations`.
pub async fn start<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StartCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<(u16, String), ObjectError> {
    let fields = match serde_json::from_str::<serde_json::Value>(&call.json) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Ok(problem(400, "the body must be a JSON object")),
    };
    let key = call.idempotency_key.clone();
    if let Some(answer) = load_starts(store).await?.get(&key) {
        return Ok((answer.status, answer.body.clone()));
    }
    if let Some(outgoing) = load_outgoing(store).await? {
        if start_key(&outgoing.why) == Some(key.as_str()) {
            return repeat_pending(setup, call, store, rt, outgoing).await;
        }
    }
    // The person's reply will come To our number From theirs.
    let stored_pair = StoredPair {
        account_sid: call.account_sid.clone(),
        to: call.from.clone(),
        from: call.to.clone(),
        origin: call.origin.clone(),
    };
    let pair = stored_pair.pair();
    let previous = load_record(setup, store, &pair, rt.now).await?;
    let replace = fields.get("replace") == Some(&serde_json::Value::Bool(true));
    if let Some(refusal) = refuse_start(store, previous.as_ref(), replace).await? {
        return Ok(refusal);
    }
    let start = Start {
        to: call.to.clone(),
        from: call.from.clone(),
        fields,
    };
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now)
        .for_message(&call.account_sid, &format!("start:{key}"));
    let (reply, state) = match opening(setup, &start, &ctx).await {
        Ok(opening) => opening,
        Err(refusal) => return Ok(refusal),
    };
    let record = previous.unwrap_or_default();
    let Some(forms) = forms(setup, &stored_pair, &record, &reply, rt.now) else {
        return Ok(problem(422, OUTSIDE_WINDOW));
    };
    save_pair(store, &pair, &call.origin).await?;
    let why = Why::Start { key: key.clone() };
    let outgoing = Outgoing::new(why, forms, reply, state);
    let what = proceed(setup, store, rt, &stored_pair, outgoing).await;
    answer_start(store, call, what).await
}

/// A start repeated while its send is still on its way: it goes on if it is due, and the
/// answer is where it got to.
pub(super) async fn repeat_pending<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StartCall,
    store: &O,
    rt: &Runtime<'_, S>,
    outgoing: Outgoing,
) -> Result<(u16, String), ObjectError> {
    let what = match load_pair(store).await? {
        Some(stored_pair) if outgoing.wake_at() <= rt.now => {
            proceed(setup, store, rt, &stored_pair, outgoing).await
        }
        _ => Ok(format!("send {}: still confirming", outgoing.id)),
    };
    answer_start(store, call, what).await
}

/// The answer to a start once its send went as far as it could: the result kept under its
/// key, or `202` while it is still on its way.
pub(super) async fn answer_start<O: ObjectStore>(
    store: &O,
    call: &StartCall,
    what: Result<String, ObjectError>,
) -> Result<(u16, String), ObjectError> {
    let key = &call.idempotency_key;
    if let Some(answer) = load_starts(store).await?.get(key) {
        return Ok((answer.status, answer.body.clone()));
    }
    // Still on its way: Twilio's answer was lost or asked us to wait.
    let body = serde_json::json!({
        "status": "pending",
        "idempotency_key": key,
        "to": call.to,
        "from": call.from,
        "detail": match what { Ok(w) => w, Err(e) => e.to_string() },
        "next": "The worker finds out whether Twilio took the message before it sends anything again. Repeat this request with the same Idempotency-Key to learn the result: it never sends twice.",
    });
    Ok((202, body.to_string()))
}

/// Why a start cannot go ahead for this pair now, as its answer: the person opted out, a
/// send is still on its way, or a conversation is in progress and `replace` was not asked.
pub(super) async fn refuse_start<O: ObjectStore>(
    store: &O,
    previous: Option<&Record>,
    replace: bool,
) -> Result<Option<(u16, String)>, ObjectError> {
    if previous.is_some_and(Record::opted_out) {
        return Ok(Some(problem(
            409,
            "the person opted out (STOP): nothing is sent until they text START",
        )));
    }
    if let Some(outgoing) = load_outgoing(store).await? {
        let body = serde_json::json!({
            "error": "a message to this person is still being sent",
            "send": outgoing.id,
        });
        return Ok(Some((409, body.to_string())));
    }
    match previous {
        Some(record) if record.in_progress() && !replace => {
            let body = serde_json::json!({
                "error": "a conversation with this person is in progress: send \"replace\": true to start over",
                "conversation": {"count": record.count, "last_seen": record.last_seen, "turns": record.turns.len()},
            });
            Ok(Some((409, body.to_string())))
        }
        _ => Ok(None),
    }
}

/// The conversation's opening message and the state it leaves; or the answer (status and
/// JSON body) refusing the start.
pub(super) async fn opening(
    setup: &Setup,
    start: &Start,
    ctx: &Context<'_>,
) -> Result<(Reply, SavedState), (u16, String)> {
    let mut state = SavedState::default();
    let ran = setup.conversation.start(start, &mut state, ctx).await;
    match (ran.answer, ran.state_error) {
        // Nothing is sent that the object could not continue.
        (Ok(_), Some(e)) => Err(problem(500, &e.to_string())),
        (Ok(reply), None) if !reply.is_empty() => {
            Ok((as_configured(reply, setup.config.smart_encoding), state))
        }
        (Ok(_), None) => Err(problem(400, "the conversation has no opening message")),
        (Err(why), _) => Err(problem(400, &why)),
    }
}

/// The answer to a start whose opening message Twilio refused: a 502 with Twilio's status
/// and code (nothing was sent).
pub(super) fn not_sent(e: &SendError) -> (u16, String) {
    let body = match e {
        SendError::Refused { status, code, .. } => {
            serde_json::json!({"status": "refused", "error": e.to_string(), "twilio_status": status, "code": code})
        }
        e => serde_json::json!({"status": "refused", "error": e.to_string()}),
    };
    (502, body.to_string())
}

pub(super) fn problem(status: u16, why: &str) -> (u16, String) {
    (status, serde_json::json!({ "error": why }).to_string())
}
