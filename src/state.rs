//! The conversation state that travels in the cookie.
//!
//! It is versioned by the cookie format (see [`crate::session`]): a cookie of a version
//! this build does not know opens as "no state", so changing this struct in a way old
//! cookies cannot be read back in only restarts conversations, never fails a webhook.
//! It is encoded with postcard (compact, not self-describing): fields are identified by
//! their order, so add new ones at the end, and expect existing conversations to restart
//! when you change the struct (or keep your data in `memory`, which needs no change here).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the worker remembers about one To/From pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// Bumped on every change: when two copies of a conversation disagree (a stale cookie
    /// Twilio sent back, a newer copy in KV), the higher sequence wins.
    pub seq: u64,
    /// Messages received from this pair, this one included once it is counted.
    pub count: u64,
    /// Unix seconds of the first message.
    pub first_seen: u64,
    /// Unix seconds of the latest message.
    pub last_seen: u64,
    /// `MessageSid` of the latest counted message, so a retried delivery is recognised.
    pub last_message_sid: Option<String>,
    /// Free-form memory for your own conversation (e.g. `"name" → "Rey"`).
    /// Empty in the default conversation, and then it costs no cookie bytes.
    pub memory: BTreeMap<String, String>,
    /// The most recent turns, oldest first, within `HISTORY_TURNS` and `HISTORY_MAX_BYTES`.
    /// Trimming them never changes `count`.
    pub turns: Vec<Turn>,
}

/// One exchange: what the person texted and what we answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Unix seconds the message arrived.
    pub at: u64,
    /// Its `MessageSid`, so a retried delivery gets the very same answer.
    pub message_sid: String,
    /// The inbound `Body`.
    pub inbound: String,
    /// Our reply's messages (none when we stayed silent).
    pub reply: Vec<String>,
}

impl Turn {
    fn text_bytes(&self) -> usize {
        self.inbound.len() + self.reply.iter().map(String::len).sum::<usize>()
    }
}

/// How much history a conversation keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// At most this many turns (`HISTORY_TURNS`; 0 keeps none).
    pub turns: usize,
    /// At most this many bytes of text across the kept turns (`HISTORY_MAX_BYTES`).
    pub bytes: usize,
}

impl ConversationState {
    /// Counts a newly received message into the state.
    ///
    /// Returns `false` (and changes nothing) when `message_sid` is the one already
    /// counted last: Twilio retried a delivery, and a retry must not count twice.
    ///
    /// ```
    /// use sms_conversation_worker::state::ConversationState;
    /// let mut state = ConversationState::default();
    /// assert!(state.record("SM1", 1_700_000_000));
    /// assert!(!state.record("SM1", 1_700_000_005));
    /// assert_eq!(state.count, 1);
    /// ```
    pub fn record(&mut self, message_sid: &str, now: u64) -> bool {
        if !message_sid.is_empty() && self.last_message_sid.as_deref() == Some(message_sid) {
            return false;
        }
        if self.count == 0 {
            self.first_seen = now;
        }
        self.count = self.count.saturating_add(1);
        self.seq = self.seq.saturating_add(1);
        self.last_seen = now;
        self.last_message_sid = (!message_sid.is_empty()).then(|| message_sid.to_string());
        true
    }
}

impl ConversationState {
    /// Appends a turn and drops the oldest ones beyond `limits`.
    pub fn push_turn(&mut self, turn: Turn, limits: HistoryLimits) {
        self.turns.push(turn);
        let mut bytes: usize = self.turns.iter().map(Turn::text_bytes).sum();
        while self.turns.len() > limits.turns || (bytes > limits.bytes && !self.turns.is_empty()) {
            bytes -= self.turns.remove(0).text_bytes();
        }
    }

    /// Drops the oldest turn, to make the state fit somewhere smaller; false when none is left.
    pub fn drop_oldest_turn(&mut self) -> bool {
        if self.turns.is_empty() {
            return false;
        }
        self.turns.remove(0);
        true
    }

    /// The turn of `message_sid`, when it is the latest one (a retried delivery).
    pub fn last_turn_of(&self, message_sid: &str) -> Option<&Turn> {
        self.turns
            .last()
            .filter(|t| !message_sid.is_empty() && t.message_sid == message_sid)
    }
}

/// The To/From pair (and the account) a conversation belongs to.
///
/// Twilio keys its cookie jars by this pair; the cookie's MAC covers it too, so a cookie
/// copied into another pair's conversation does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// `AccountSid` of the webhook.
    pub account_sid: &'a str,
    /// `To`: your Twilio number.
    pub to: &'a str,
    /// `From`: the person texting.
    pub from: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_sets_both_times_and_later_ones_only_the_last() {
        let mut s = ConversationState::default();
        assert!(s.record("SM1", 100));
        assert!(s.record("SM2", 200));
        assert_eq!((s.count, s.first_seen, s.last_seen), (2, 100, 200));
        assert_eq!(s.last_message_sid.as_deref(), Some("SM2"));
    }

    #[test]
    fn a_retried_message_sid_is_not_counted_twice() {
        let mut s = ConversationState::default();
        s.record("SM1", 100);
        let before = s.clone();
        assert!(!s.record("SM1", 150));
        assert_eq!(s, before);
        // An older SID coming back after a newer one is a new delivery as far as we can tell.
        s.record("SM2", 200);
        assert!(s.record("SM1", 300));
        assert_eq!(s.count, 3);
    }

    #[test]
    fn messages_without_a_sid_always_count() {
        let mut s = ConversationState::default();
        assert!(s.record("", 1));
        assert!(s.record("", 2));
        assert_eq!(s.count, 2);
        assert_eq!(s.last_message_sid, None);
    }

    #[test]
    fn the_default_state_serialises_compactly() {
        let mut s = ConversationState::default();
        s.record("SM0123456789abcdef0123456789abcdef", 1_700_000_000);
        let bytes = postcard::to_allocvec(&s).unwrap();
        // Varint integers, a length-prefixed SID, one byte each for the empty memory and turns.
        assert_eq!(bytes.len(), 1 + 1 + 5 + 5 + 1 + 1 + 34 + 1 + 1);
        assert_eq!(
            postcard::from_bytes::<ConversationState>(&bytes).unwrap(),
            s
        );
    }

    fn turn(i: usize, len: usize) -> Turn {
        Turn {
            at: i as u64,
            message_sid: format!("SM{i}"),
            inbound: "x".repeat(len),
            reply: vec!["y".repeat(len)],
        }
    }

    #[test]
    fn history_keeps_the_newest_turns_within_both_limits_and_the_count_stays_exact() {
        let mut s = ConversationState::default();
        let limits = HistoryLimits {
            turns: 3,
            bytes: 1000,
        };
        for i in 0..5 {
            s.record(&format!("SM{i}"), i as u64);
            s.push_turn(turn(i, 10), limits);
        }
        assert_eq!(s.count, 5);
        let kept: Vec<&str> = s.turns.iter().map(|t| t.message_sid.as_str()).collect();
        assert_eq!(kept, ["SM2", "SM3", "SM4"]);
        // The byte budget: two turns of 2 × 300 bytes do not fit in 1000.
        s.push_turn(turn(5, 300), limits);
        s.push_turn(turn(6, 300), limits);
        assert_eq!(s.turns.len(), 1);
        assert_eq!(s.turns[0].message_sid, "SM6");
        // A single turn over the budget is not kept at all.
        s.push_turn(turn(7, 600), limits);
        assert!(s.turns.is_empty());
        // History off.
        s.push_turn(
            turn(8, 1),
            HistoryLimits {
                turns: 0,
                bytes: 1000,
            },
        );
        assert!(s.turns.is_empty());
        assert_eq!(s.count, 5);
    }

    #[test]
    fn the_latest_turn_answers_a_retry() {
        let mut s = ConversationState::default();
        let limits = HistoryLimits {
            turns: 10,
            bytes: 10_000,
        };
        s.push_turn(turn(1, 1), limits);
        s.push_turn(turn(2, 1), limits);
        assert_eq!(s.last_turn_of("SM2").map(|t| t.at), Some(2));
        assert!(s.last_turn_of("SM1").is_none());
        assert!(s.last_turn_of("").is_none());
    }
}
