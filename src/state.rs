//! The conversation state that travels in the cookie.
//!
//! It is versioned by the cookie format (see [`crate::session`]): a cookie of a version
//! this build does not know opens as "no state", so changing this struct in a way old
//! cookies cannot be read back in only restarts conversations, never fails a webhook.
//! Field names are one letter because every byte is sent on every webhook.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the worker remembers about one To/From pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// Messages received from this pair, this one included once it is counted.
    #[serde(rename = "n")]
    pub count: u64,
    /// Unix seconds of the first message.
    #[serde(rename = "f")]
    pub first_seen: u64,
    /// Unix seconds of the latest message.
    #[serde(rename = "l")]
    pub last_seen: u64,
    /// `MessageSid` of the latest counted message, so a retried delivery is recognised.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub last_message_sid: Option<String>,
    /// Free-form memory for your own conversation (e.g. `"name" → "Rey"`).
    /// Empty in the default conversation, and then it costs no cookie bytes.
    #[serde(rename = "k", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub memory: BTreeMap<String, String>,
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
        self.last_seen = now;
        self.last_message_sid = (!message_sid.is_empty()).then(|| message_sid.to_string());
        true
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
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"n":1,"f":1700000000,"l":1700000000,"m":"SM0123456789abcdef0123456789abcdef"}"#
        );
    }
}
