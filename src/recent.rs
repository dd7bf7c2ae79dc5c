//! The states this isolate answered last, per pair: a best-effort guard against stale
//! cookies.
//!
//! Twilio warns that the cookie it sends back may not carry the latest value when two
//! messages of a pair arrive close together. Reading KV for every message would catch
//! that, but costs a read per message; instead the isolate remembers the last state it
//! sealed for each pair (close messages usually reach the same isolate), and a cookie with
//! an older sequence number than that memory is replaced by it. What it cannot see (another
//! isolate, a restarted one) is no worse than without it.

use std::cell::RefCell;

use crate::state::{ConversationState, Pair};

/// How many pairs an isolate remembers; beyond that the one remembered longest ago goes.
pub const CAPACITY: usize = 256;

/// Latest states by pair, bounded, oldest first. A plain vector: a few hundred short keys
/// are searched in a microsecond, and a map's code would cost kilobytes of wasm.
/// Interior mutability: the worker keeps one per isolate and hands out shared references;
/// an isolate runs one request at a time per thread.
#[derive(Debug, Default)]
pub struct RecentStates {
    states: RefCell<Vec<(String, ConversationState)>>,
}

impl RecentStates {
    /// The remembered state of `pair`, when it is newer than sequence number `seq`.
    ///
    /// ```
    /// use sms_conversation_worker::recent::RecentStates;
    /// use sms_conversation_worker::state::{ConversationState, Pair};
    /// let pair = Pair { account_sid: "AC1", to: "+15005550006", from: "+14155550100" };
    /// let recent = RecentStates::default();
    /// let mut state = ConversationState::default();
    /// state.record("SM1", 1);
    /// state.record("SM2", 2);
    /// recent.remember(&pair, &state);
    /// assert_eq!(recent.newer_than(&pair, 1).map(|s| s.count), Some(2));
    /// assert!(recent.newer_than(&pair, 2).is_none());
    /// ```
    pub fn newer_than(&self, pair: &Pair<'_>, seq: u64) -> Option<ConversationState> {
        let key = key(pair);
        self.states
            .borrow()
            .iter()
            .find(|(k, s)| *k == key && s.seq > seq)
            .map(|(_, s)| s.clone())
    }

    /// Remembers `state` as the latest of `pair`.
    pub fn remember(&self, pair: &Pair<'_>, state: &ConversationState) {
        let key = key(pair);
        let mut states = self.states.borrow_mut();
        states.retain(|(k, _)| *k != key);
        if states.len() >= CAPACITY {
            states.remove(0);
        }
        states.push((key, state.clone()));
    }

    /// How many pairs are remembered.
    pub fn len(&self) -> usize {
        self.states.borrow().len()
    }

    /// True when no pair is remembered.
    pub fn is_empty(&self) -> bool {
        self.states.borrow().is_empty()
    }
}

/// Length-prefixed fields, so no two different pairs share a key.
fn key(pair: &Pair<'_>) -> String {
    let mut key = String::with_capacity(64);
    for field in [pair.account_sid, pair.to, pair.from] {
        key.push_str(&field.len().to_string());
        key.push(':');
        key.push_str(field);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(from: &str) -> Pair<'_> {
        Pair {
            account_sid: "AC1",
            to: "+15005550006",
            from,
        }
    }

    #[test]
    fn memory_stays_bounded_and_per_pair() {
        let recent = RecentStates::default();
        let numbers: Vec<String> = (0..CAPACITY + 10).map(|i| format!("+1415{i:07}")).collect();
        let mut state = ConversationState::default();
        state.record("SM1", 1);
        for n in &numbers {
            recent.remember(&pair(n), &state);
        }
        assert_eq!(recent.len(), CAPACITY);
        // The first ones remembered went first.
        assert!(recent.newer_than(&pair(&numbers[0]), 0).is_none());
        assert!(recent.newer_than(&pair(&numbers[10]), 0).is_some());
        assert!(recent.newer_than(&pair("+19999999999"), 0).is_none());
        // Remembering a pair again replaces its entry.
        let mut later = state.clone();
        later.record("SM2", 2);
        recent.remember(&pair(&numbers[10]), &later);
        assert_eq!(recent.len(), CAPACITY);
        assert_eq!(
            recent.newer_than(&pair(&numbers[10]), 1).map(|s| s.count),
            Some(2)
        );
    }
}
