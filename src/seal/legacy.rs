//! The first release's sealed values (`v1` signed, `e1` encrypted, `p1` pointer), still
//! opened so a deploy never resets live conversations: Twilio keeps a pair's cookie for up
//! to four hours, and KV entries for `KV_TTL_SECONDS`.

use serde::{Deserialize, Serialize, Serializer};

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
    /// A `BTreeMap<String, String>` when sealed: postcard writes a map as its length and its
    /// pairs, in key order, as it writes a sequence of pairs, so it reads back as one (and
    /// the map's code stays out of the wasm, about 1 KB gzipped).
    pub memory: Vec<(String, String)>,
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
fn saved_state(memory: &[(String, String)]) -> SavedState {
    if memory.is_empty() {
        return SavedState::default();
    }
    SavedState {
        version: 0,
        json: serde_json::to_string(&AsMap(memory)).unwrap_or_default(),
    }
}

/// Pairs in key order, serialised as the map they were.
struct AsMap<'a>(&'a [(String, String)]);

impl Serialize for AsMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The first release's state as it sealed it, with its memory a map.
    #[derive(Serialize)]
    struct Sealed {
        seq: u64,
        count: u64,
        first_seen: u64,
        last_seen: u64,
        last_message_sid: Option<String>,
        memory: BTreeMap<String, String>,
        turns: Vec<LegacyTurn>,
    }

    #[test]
    fn a_first_release_memory_opens_as_the_json_of_its_map() {
        let memory = BTreeMap::from([
            ("name".to_string(), "Ada \"A\"".to_string()),
            ("age".to_string(), "36".to_string()),
        ]);
        let sealed = Sealed {
            seq: 2,
            count: 2,
            first_seen: 1,
            last_seen: 2,
            last_message_sid: Some("SM2".to_string()),
            memory: memory.clone(),
            turns: Vec::new(),
        };
        let bytes = postcard::to_allocvec(&sealed).unwrap();
        let state: State = postcard::from_bytes(&bytes).unwrap();
        let record = Record::from(state);
        assert_eq!(record.state.version, 0);
        assert_eq!(record.state.json, serde_json::to_string(&memory).unwrap());
        assert_eq!(record.state.json, r#"{"age":"36","name":"Ada \"A\""}"#);
    }
}
