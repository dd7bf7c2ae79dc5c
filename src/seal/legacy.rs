//! The first release's sealed values (`v1` signed, `e1` encrypted, `p1` pointer), still
//! opened so a deploy never resets live conversations: Twilio keeps a pair's cookie for up
//! to four hours, and KV entries for `KV_TTL_SECONDS`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::conversation::{Reply, ReplyMessage, SavedState, Turn};
use crate::record::{fingerprint, Record};

/// The first release's state, field for field (postcard identifies fields by order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub seq: u64,
    pub count: u64,
    pub first_seen: u64,
    pub last_seen: u64,
    pub last_message_sid: Option<String>,
    pub memory: BTreeMap<String, String>,
    pub turns: Vec<LegacyTurn>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LegacyTurn {
    pub at: u64,
    pub message_sid: String,
    pub inbound: String,
    pub reply: Vec<String>,
}

impl LegacyTurn {
    /// Today's turn: the reply's texts become text messages.
    fn upgrade(self) -> Turn {
        Turn {
            at: self.at,
            message_sid: self.message_sid,
            inbound: self.inbound,
            reply: Reply::from_messages(self.reply.into_iter().map(ReplyMessage::text).collect()),
        }
    }
}

/// The reply to the last message, when the last turn is that message's.
fn last_reply(turns: &[Turn], last_message_sid: Option<&String>) -> Reply {
    turns
        .last()
        .filter(|t| Some(&t.message_sid) == last_message_sid)
        .map(|t| t.reply.clone())
        .unwrap_or_default()
}

/// The free-form memory as the conversation's state at version 0 (JSON of the string map);
/// no memory is no state.
fn saved_state(memory: &BTreeMap<String, String>) -> SavedState {
    if memory.is_empty() {
        return SavedState::default();
    }
    SavedState {
        version: 0,
        json: serde_json::to_string(memory).unwrap_or_default(),
    }
}

/// The first release's pointer payload.
#[derive(Serialize, Deserialize)]
pub(crate) struct PointerPayload(pub u64, pub String, pub State);

impl From<State> for Record {
    /// The count, times and turns carry over. The first release's free-form `memory` becomes
    /// the conversation's state at version 0 (JSON of the string map), for
    /// [`crate::conversation::Conversation::upgrade`] to read.
    fn from(old: State) -> Record {
        let turns: Vec<Turn> = old.turns.into_iter().map(LegacyTurn::upgrade).collect();
        let last_reply = last_reply(&turns, old.last_message_sid.as_ref());
        let state = saved_state(&old.memory);
        Record {
            seq: old.seq,
            count: old.count,
            first_seen: old.first_seen,
            last_seen: old.last_seen,
            seen: old
                .last_message_sid
                .iter()
                .map(|s| fingerprint(s))
                .collect(),
            last_message_sid: old.last_message_sid,
            last_reply,
            turns,
            state,
            standing: crate::conversation::Standing {
                last_inbound: old.last_seen,
                ..Default::default()
            },
        }
    }
}
