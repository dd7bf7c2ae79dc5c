//! What a conversation sees of itself: the exchanges so far and the pair's counts.

use serde::{Deserialize, Serialize};

use super::reply::Reply;
use super::standing::Standing;

/// One exchange: what the person texted and what we answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Unix seconds the message arrived.
    pub at: u64,
    /// Its `MessageSid`, so a retried delivery gets the very same answer.
    pub message_sid: String,
    /// The inbound `Body`.
    pub inbound: String,
    /// Our reply (empty when we stayed silent).
    pub reply: Reply,
}

impl Turn {
    /// The bytes of text the turn adds to a record, for `HISTORY_MAX_BYTES`.
    pub(crate) fn text_bytes(&self) -> usize {
        self.inbound.len() + self.message_sid.len() + self.reply.text_bytes()
    }
}

/// A read-only view of the conversation so far, for
/// [`Conversation::reply`](super::conversation_trait::Conversation::reply).
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Messages received from this pair, the one being answered included.
    pub count: u64,
    /// Unix seconds of the first message.
    pub first_seen: u64,
    /// Unix seconds of this message.
    pub last_seen: u64,
    /// Earlier exchanges, oldest first (without the message being answered), within
    /// `HISTORY_TURNS` and `HISTORY_MAX_BYTES`.
    pub turns: &'a [Turn],
    /// The pair's standing: whether the person opted out, when they last wrote (WhatsApp's
    /// window), and (with the objects) the delivery status of the worker's own recent sends.
    pub standing: &'a Standing,
}
