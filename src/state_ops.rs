//! The state API's operations on one pair's record, wherever it is kept: the pair's object
//! runs them on its storage, the worker on KV (`app/state.rs` is the route). Below both.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::conversation::Converse;
use crate::object_calls::StateOp;
use crate::record::{Pair, Record};
use crate::storage::Source;

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
