//! The state API's operations on one pair's record, wherever it is kept: the pair's object
//! runs them on its storage, the worker on KV (`app/state.rs` is the route). Below both.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::conversation::{Converse, Reply, Turn};
use crate::object_calls::StateOp;
use crate::record::{Pair, Record};
use crate::storage::Source;

/// A change made through the API raises the record's sequence this far, so it wins over
/// every copy written before it (a cookie Twilio holds, a message answered meanwhile).
pub(crate) const SEQ_JUMP: u64 = 1_000;

/// The API's answer for `record` (as it was found where `source` says), and the record to
/// keep when the operation changed it.
pub(crate) fn apply(
    op: &StateOp,
    pair: &Pair<'_>,
    record: Option<Record>,
    source: Source,
    conversation: &dyn Converse,
    now: u64,
) -> (u16, String, Option<Record>) {
    let Some(record) = record else {
        return error(404, "no conversation is kept for this pair");
    };
    match changed(op, &record, conversation, now) {
        Ok(None) => (200, describe(pair, &record, source, conversation), None),
        Ok(Some(changed)) => {
            let changed = jumped(changed);
            let body = describe(pair, &changed, source, conversation);
            (200, body, Some(changed))
        }
        Err(why) => error(400, &why),
    }
}

/// A record the API changed, its sequence raised by [`SEQ_JUMP`] so it wins over every copy
/// written before it.
fn jumped(mut changed: Record) -> Record {
    changed.seq = changed.seq.saturating_add(SEQ_JUMP);
    changed
}

/// An answer that refuses the operation: the status and `{"error": why}`, nothing to keep.
fn error(status: u16, why: &str) -> (u16, String, Option<Record>) {
    let body = serde_json::json!({ "error": why });
    (status, body.to_string(), None)
}

/// The record the operation makes of `record`: none for a look, or why the conversation
/// refused the state it was given.
fn changed(
    op: &StateOp,
    record: &Record,
    conversation: &dyn Converse,
    now: u64,
) -> Result<Option<Record>, String> {
    Ok(match op {
        StateOp::Get => None,
        StateOp::Reset => Some(record.reset("", Default::default(), now)),
        StateOp::Put(state) => Some(Record {
            state: conversation.check_state(state)?,
            ..record.clone()
        }),
    })
}

/// A turn as the API shows it: the texts and media of its reply, borrowed.
#[derive(Serialize)]
struct Shown<'a> {
    at: u64,
    message_sid: &'a str,
    inbound: &'a str,
    replies: Vec<&'a str>,
    media: Vec<&'a str>,
}

/// The record as the API shows it, serialized from borrowed fields.
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

/// The record as the API shows it: the pair, the bookkeeping, the state read by the conversation, the
/// turns, the standing, and where it came from. Serialized from borrowed fields, the state
/// as the conversation's own JSON text: no `serde_json::Value` in the wasm.
fn describe(pair: &Pair<'_>, record: &Record, source: Source, conv: &dyn Converse) -> String {
    let state = state_json(record, conv);
    let described = Described::of(pair, record, state, source);
    serde_json::to_string(&described).unwrap_or_default()
}

/// The conversation's state as its own JSON text, `null` when that is not JSON.
fn state_json(record: &Record, conversation: &dyn Converse) -> Box<RawValue> {
    RawValue::from_string(conversation.describe_state(&record.state))
        .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default())
}

impl<'a> Shown<'a> {
    /// The turn as the API shows it: its reply's texts and every message's media.
    fn of(t: &'a Turn) -> Self {
        Shown {
            at: t.at,
            message_sid: &t.message_sid,
            inbound: &t.inbound,
            replies: t.reply.texts(),
            media: media_of(&t.reply),
        }
    }
}

/// Every media URL of a reply's messages, borrowed: the API lists them with the turn.
fn media_of(reply: &Reply) -> Vec<&str> {
    reply
        .messages()
        .iter()
        .flat_map(|m| m.media().iter().map(String::as_str))
        .collect()
}

impl<'a> Described<'a> {
    /// The record's fields as the API names them, with the pair and where it came from.
    fn of(pair: &Pair<'a>, record: &'a Record, state: Box<RawValue>, source: Source) -> Self {
        let standing = &record.standing;
        Described {
            from: pair.from,
            to: pair.to,
            count: record.count,
            seq: record.seq,
            first_seen: record.first_seen,
            last_seen: record.last_seen,
            last_message_sid: record.last_message_sid(),
            state,
            state_version: record.state.version,
            turns: record.turns.iter().map(Shown::of).collect(),
            opted_out: record.opted_out(),
            opted_out_at: standing.opted_out,
            last_inbound: standing.last_inbound,
            last_sent: standing.last_sent,
            #[cfg(feature = "objects")]
            deliveries: &standing.deliveries,
            source: source.name(),
        }
    }
}
