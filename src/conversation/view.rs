//! What a conversation sees of itself: the exchanges so far and the pair's counts.

use serde::{Deserialize, Serialize};

use super::reply::Reply;
use super::standing::Standing;

/// One exchange: what the person texted and what we answered.
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// /// Answers with the person's previous message, kept in the history (`HISTORY_TURNS`).
/// struct Parrot;
///
/// impl Conversation for Parrot {
///     const NAME: &'static str = "parrot";
///     type State = ();
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Parrot)
///     }
///     async fn reply(&self, _: &InboundMessage, chat: &View<'_>, _: &mut (), _: &Context<'_>) -> Reply {
///         let last: Option<&Turn> = chat.turns.last();
///         match last {
///             Some(turn) => Reply::text(format!("Before, you said {:?}.", turn.inbound)),
///             None => Reply::text("First message!"),
///         }
///     }
/// }
///
/// let mut phone = TestPhone::new::<Parrot>(&[("HISTORY_TURNS", "5")]).unwrap();
/// assert_eq!(phone.text("red").texts(), ["First message!"]);
/// assert_eq!(phone.text("blue").texts(), [r#"Before, you said "red"."#]);
/// ```
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
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// struct Clock;
///
/// impl Conversation for Clock {
///     const NAME: &'static str = "clock";
///     type State = ();
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Clock)
///     }
///     async fn reply(&self, _: &InboundMessage, chat: &View<'_>, _: &mut (), _: &Context<'_>) -> Reply {
///         let minutes = (chat.last_seen - chat.first_seen) / 60;
///         Reply::text(format!("Message {}, {minutes} min in.", chat.count))
///     }
/// }
///
/// let mut phone = TestPhone::new::<Clock>(&[]).unwrap();
/// assert_eq!(phone.text("a").texts(), ["Message 1, 0 min in."]);
/// phone.wait(600);
/// assert_eq!(phone.text("b").texts(), ["Message 2, 10 min in."]);
/// ```
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
