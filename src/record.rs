//! The record of one conversation: the framework's bookkeeping and the conversation's own
//! state, sealed together into the cookie (and KV).
//!
//! The bookkeeping decides retries and stale copies, so only the framework changes it:
//! conversations see it through [`crate::conversation::View`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conversation::InboundMessage;
use crate::conversation::{Reply, SavedState, Standing, Turn, View};

/// How many recent MessageSids a record remembers: a retried or replayed message among
/// them changes nothing (`X-Twilio-Signature` has no nonce or timestamp).
pub const SEEN_WINDOW: usize = 10;

/// What the worker remembers about one To/From pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Bumped on every change: when two copies of a conversation disagree (a stale cookie
    /// Twilio sent back, a newer copy in KV or memory), the higher sequence wins.
    pub seq: u64,
    /// Messages received from this pair since it started (or was reset).
    pub count: u64,
    /// Unix seconds of the first message.
    pub first_seen: u64,
    /// Unix seconds of the latest message.
    pub last_seen: u64,
    /// `MessageSid` of the latest message (or reset).
    pub last_message_sid: Option<String>,
    /// Fingerprints of the latest `MessageSid`s (resets included), oldest first, at most
    /// [`SEEN_WINDOW`]: 8 bytes each rather than 34, since they ride in every cookie.
    pub seen: Vec<Fingerprint>,
    /// The answer to the latest message, kept even when history is off so a retry gets
    /// the very same answer without calling the conversation again.
    pub last_reply: Reply,
    /// The most recent turns, oldest first, within [`HistoryLimits`]. Trimming them never
    /// changes `count`.
    pub turns: Vec<Turn>,
    /// The conversation's own state.
    pub state: SavedState,
    /// What the record learned after format 2 was released (opt-out, WhatsApp's window,
    /// deliveries): sealed after the fields above, so older values open with its default.
    #[serde(skip)]
    pub standing: Standing,
}

/// How much history a conversation keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// At most this many turns (`HISTORY_TURNS`; 0 keeps none).
    pub turns: usize,
    /// At most this many bytes of text across the kept turns (`HISTORY_MAX_BYTES`).
    pub bytes: usize,
}

/// The first 8 bytes of a `MessageSid`'s SHA-256: a window of ten has a chance of about
/// 2^-60 of mistaking a new message for a seen one, and Twilio, not a sender, picks SIDs.
pub type Fingerprint = [u8; 8];

/// The fingerprint of `message_sid`.
pub fn fingerprint(message_sid: &str) -> Fingerprint {
    let digest = Sha256::digest(message_sid.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

impl Record {
    /// The latest `MessageSid`.
    pub fn last_message_sid(&self) -> Option<&str> {
        self.last_message_sid.as_deref()
    }

    /// True when `message_sid` is one of the latest messages: a retry or a replay.
    ///
    /// ```
    /// use sms_conversation_worker::record::Record;
    /// let mut record = Record::default();
    /// record.count_message("SM1", 1_700_000_000);
    /// assert!(record.has_seen("SM1"));
    /// assert!(!record.has_seen("SM2"));
    /// assert!(!record.has_seen(""));
    /// ```
    pub fn has_seen(&self, message_sid: &str) -> bool {
        if message_sid.is_empty() {
            return false;
        }
        self.last_message_sid() == Some(message_sid) || {
            let print = fingerprint(message_sid);
            self.seen.contains(&print)
        }
    }

    /// What was answered to `message_sid`: the latest reply, or the kept turn of an older
    /// message; `None` when that is no longer known.
    pub fn answer_to(&self, message_sid: &str) -> Option<&Reply> {
        if self.last_message_sid() == Some(message_sid) {
            return Some(&self.last_reply);
        }
        self.turns
            .iter()
            .rev()
            .find(|t| t.message_sid == message_sid)
            .map(|t| &t.reply)
    }

    /// Counts a new message (the caller has checked [`Record::has_seen`]).
    pub fn count_message(&mut self, message_sid: &str, now: u64) {
        if self.count == 0 {
            self.first_seen = now;
        }
        self.count = self.count.saturating_add(1);
        self.last_seen = now;
        self.standing.last_inbound = now;
        self.see(message_sid);
    }

    /// Forgets the conversation, remembering only that it was reset by `message_sid`: the
    /// empty record is newer than everything before it, so no older copy wins over it,
    /// and a replayed reset is recognised.
    pub fn reset(&self, message_sid: &str, reply: Reply, now: u64) -> Record {
        let mut record = Record {
            seq: self.seq,
            last_message_sid: self.last_message_sid.clone(),
            seen: self.seen.clone(),
            standing: self.standing.clone(),
            ..Record::default()
        };
        record.see(message_sid);
        record.last_reply = reply;
        if !message_sid.is_empty() {
            record.standing.last_inbound = now;
        }
        record
    }

    /// True while the person has opted out (STOP) and not back in (START).
    pub fn opted_out(&self) -> bool {
        self.standing.opted_out.is_some()
    }

    /// The conversation as it stands at `now`: one idle (no message either way) for longer
    /// than `ttl` seconds has ended, as its cookie would have, and starts over; the sequence,
    /// the MessageSid window and the standing stay, as with a reset.
    pub fn idle_ended(self, ttl: u64, now: u64) -> Record {
        let last = self.last_seen.max(self.standing.last_sent);
        if !self.in_progress() || last.saturating_add(ttl) > now {
            return self;
        }
        self.reset("", Reply::none(), now)
    }

    /// True when the record holds a conversation: a message counted, a turn or a state.
    /// A reset (or a record never used) holds none.
    pub fn in_progress(&self) -> bool {
        self.count > 0 || !self.turns.is_empty() || !self.state.json.is_empty()
    }

    /// Records the answer to the message just counted, and its turn when history is kept.
    pub fn answered(&mut self, turn: Turn, limits: HistoryLimits) {
        if limits.turns == 0 {
            // Turns kept under an earlier setting go too: history off means none is kept.
            self.last_reply = turn.reply;
            self.turns.clear();
            return;
        }
        self.last_reply = turn.reply.clone();
        // The oldest turn goes before the new one comes when the history is full (it would
        // go right after): a full history never grows its Vec.
        if self.turns.len() >= limits.turns {
            self.turns.remove(0);
        }
        self.turns.push(turn);
        let mut bytes: usize = self.turns.iter().map(Turn::text_bytes).sum();
        while self.turns.len() > limits.turns || (bytes > limits.bytes && !self.turns.is_empty()) {
            bytes -= self.turns.remove(0).text_bytes();
        }
    }

    /// Records a message we sent on our own (a follow-up, or the opening of a conversation
    /// the worker started) as a turn with no inbound text. It is no message received: the
    /// count stays, the sequence rises.
    pub fn sent(&mut self, turn: Turn, limits: HistoryLimits) {
        self.seq = self.seq.saturating_add(1);
        self.standing.last_sent = self.standing.last_sent.max(turn.at);
        let last_reply = std::mem::take(&mut self.last_reply);
        self.answered(turn, limits);
        self.last_reply = last_reply;
    }

    /// Drops the oldest turn, to make the record fit somewhere smaller; false when none is
    /// left.
    pub fn drop_oldest_turn(&mut self) -> bool {
        if self.turns.is_empty() {
            return false;
        }
        self.turns.remove(0);
        true
    }

    /// The record without its turns and the conversation's state: what a pointer cookie
    /// carries so the count stays exact and retries are recognised when KV is unreachable.
    pub fn summary(&self) -> Record {
        Record {
            turns: Vec::new(),
            state: SavedState::default(),
            ..self.clone()
        }
    }

    /// The conversation's read-only view.
    pub fn view(&self) -> View<'_> {
        View {
            count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            turns: &self.turns,
            standing: &self.standing,
        }
    }

    /// The record as opening a value sealed from it gives it back, when that differs from
    /// it: without what serde skips in its replies (the standing's deliveries ride in the
    /// sealed value's tail). `None`: the same record.
    #[cfg(cookie_memory)]
    pub(crate) fn as_sealed(&self) -> Option<Record> {
        let replies =
            || std::iter::once(&self.last_reply).chain(self.turns.iter().map(|t| &t.reply));
        if !replies().any(Reply::has_unsealed) {
            return None;
        }
        let mut sealed = self.clone();
        sealed.last_reply.drop_unsealed();
        for turn in &mut sealed.turns {
            turn.reply.drop_unsealed();
        }
        Some(sealed)
    }

    /// A rough count of the bytes this record holds in memory, for the isolate's budget.
    pub fn approx_bytes(&self) -> usize {
        128 + 8 * self.seen.len()
            + self.last_reply.text_bytes()
            + self
                .turns
                .iter()
                .map(|t| t.text_bytes() + 64)
                .sum::<usize>()
            + self.state.json.len()
    }

    fn see(&mut self, message_sid: &str) {
        self.seq = self.seq.saturating_add(1);
        if message_sid.is_empty() {
            return;
        }
        // The last sid's buffer is reused, and the oldest fingerprint goes before the new
        // one comes: a full window never grows.
        let last = self.last_message_sid.get_or_insert_default();
        last.clear();
        last.push_str(message_sid);
        if self.seen.len() >= SEEN_WINDOW {
            self.seen.remove(0);
        }
        self.seen.push(fingerprint(message_sid));
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

impl<'a> Pair<'a> {
    /// The conversation `message` belongs to.
    pub fn of(message: &'a InboundMessage) -> Self {
        Pair {
            account_sid: message.account(),
            to: &message.to,
            from: &message.from,
        }
    }
}

#[cfg(test)]
mod tests;
