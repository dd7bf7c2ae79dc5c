//! The trait a conversation implements, and the request that starts one.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::context::Context;
use super::inbound::InboundMessage;
use super::reply::Reply;
use super::view::View;
use crate::vars::{ConfigError, Vars};

/// A conversation: its state type, its settings and its replies.
///
/// A counter that remembers a name, written and tested with the prelude alone:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sms_conversation_worker::prelude::*;
///
/// struct Greeter;
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Known { name: Option<String> }
///
/// impl Conversation for Greeter {
///     const NAME: &'static str = "greeter";
///     type State = Known;
///
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Greeter)
///     }
///
///     async fn reply(&self, msg: &InboundMessage, chat: &View<'_>, known: &mut Known, _: &Context<'_>) -> Reply {
///         match &known.name {
///             None => {
///                 known.name = Some(msg.body.trim().to_string());
///                 Reply::text("Nice to meet you!")
///             }
///             Some(name) => Reply::text(format!("Message {} from {name}.", chat.count)),
///         }
///     }
/// }
///
/// let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
/// assert_eq!(phone.text("Ada").texts(), ["Nice to meet you!"]);
/// assert_eq!(phone.text("hi").texts(), ["Message 2 from Ada."]);
/// assert_eq!(phone.state::<serde_json::Value>()["name"], "Ada");
/// ```
#[allow(async_fn_in_trait)] // Workers run on one thread: the futures need not be `Send`.
pub trait Conversation: Sized + 'static {
    /// The name `CONVERSATION` picks it by, among the conversations a worker registers
    /// ([`crate::worker!`]); the dev phone's inspector decodes states by it too. Lowercase
    /// letters, digits, `-` and `_`, unique within the worker.
    const NAME: &'static str;

    /// What the conversation remembers between messages, sealed into the pair's cookie.
    type State: Serialize + DeserializeOwned + Default;

    /// Raise it when a change to [`Self::State`] cannot read older states; see
    /// [`Conversation::upgrade`].
    const STATE_VERSION: u32 = 1;

    /// Whether this conversation reads [`InboundMessage::other`]: every parameter Twilio sent
    /// beyond the typed fields, as Studio flows read them (`trigger.message.*`). Off unless
    /// asked for, as keeping them copies a score of strings on every webhook.
    ///
    /// ```
    /// use sms_conversation_worker::prelude::*;
    ///
    /// /// Says where the sender's number is registered (Twilio's `FromCountry`).
    /// struct Where;
    ///
    /// impl Conversation for Where {
    ///     const NAME: &'static str = "where";
    ///     const READS_OTHER_PARAMS: bool = true;
    ///     type State = ();
    ///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
    ///         Ok(Where)
    ///     }
    ///     async fn reply(&self, msg: &InboundMessage, _: &View<'_>, _: &mut (), _: &Context<'_>) -> Reply {
    ///         let country = msg.other.iter().find(|(name, _)| name == "FromCountry");
    ///         Reply::text(format!("From {}", country.map_or("nowhere", |(_, v)| v)))
    ///     }
    /// }
    ///
    /// // The test phone's texts carry no `FromCountry`; Twilio's do.
    /// let mut phone = TestPhone::new::<Where>(&[]).unwrap();
    /// assert_eq!(phone.text("hi").texts(), ["From nowhere"]);
    /// ```
    #[cfg(feature = "studio")]
    const READS_OTHER_PARAMS: bool = false;

    /// Builds the conversation from its settings, once per isolate. A bad setting is a
    /// [`ConfigError`]: every webhook then answers `500 misconfigured: NAME …`.
    fn new(vars: &Vars<'_>) -> Result<Self, ConfigError>;

    /// Answers a new message. `chat` already counts `message`; `state` is what the last
    /// reply left (or `Default` for a new conversation), and what this one leaves is kept.
    /// Not called for retries (they get the kept answer), resets or opt-outs.
    async fn reply(
        &self,
        message: &InboundMessage,
        chat: &View<'_>,
        state: &mut Self::State,
        ctx: &Context<'_>,
    ) -> Reply;

    /// The message to send when the person went quiet after a reply that asked for a
    /// follow-up ([`Reply::follow_up_after`]); none by default. Runs in the pair's Durable
    /// Object when its alarm fires and no newer message came; what it returns is sent through
    /// Twilio's Messages API and kept as a turn. `chat` is the conversation as it stands.
    async fn follow_up(
        &self,
        chat: &View<'_>,
        state: &mut Self::State,
        ctx: &Context<'_>,
    ) -> Reply {
        let _ = (chat, state, ctx);
        Reply::none()
    }

    /// The opening message of a conversation the worker starts (`POST /conversations`), sent
    /// through the Messages API; the person's reply continues from `state`. `Err` explains
    /// why this request cannot start one (a 400). By default conversations cannot be started.
    async fn start(
        &self,
        start: &Start,
        state: &mut Self::State,
        ctx: &Context<'_>,
    ) -> Result<Reply, String> {
        let _ = (start, state, ctx);
        Err("this conversation does not start conversations".into())
    }

    /// Whether the conversation `state` holds is still going on: `POST /conversations`
    /// refuses to start over one in progress (a 409) unless the request asks
    /// `"replace": true`. `chat` is the pair's record as it stands. By default a conversation
    /// is in progress once it counted a message, kept a turn or holds a state other than
    /// `Default`; one that knows when it has ended says so here, and a new start over an
    /// ended one needs no `replace`.
    ///
    /// A reminder that is in progress only until the person confirms:
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use sms_conversation_worker::prelude::*;
    ///
    /// struct Reminder;
    ///
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct Visit { when: String, confirmed: bool }
    ///
    /// impl Conversation for Reminder {
    ///     const NAME: &'static str = "reminder";
    ///     type State = Visit;
    ///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
    ///         Ok(Reminder)
    ///     }
    ///     async fn start(&self, start: &Start, visit: &mut Visit, _: &Context<'_>) -> Result<Reply, String> {
    ///         let when = start.fields.get("when").and_then(|w| w.as_str()).unwrap_or("soon");
    ///         *visit = Visit { when: when.to_string(), confirmed: false };
    ///         Ok(Reply::text(format!("Your visit is {when}. Reply C to confirm.")))
    ///     }
    ///     async fn reply(&self, _: &InboundMessage, _: &View<'_>, visit: &mut Visit, _: &Context<'_>) -> Reply {
    ///         visit.confirmed = true;
    ///         Reply::text(format!("Confirmed: {}.", visit.when))
    ///     }
    ///     fn in_progress(&self, visit: &Visit, _: &View<'_>) -> bool {
    ///         !visit.when.is_empty() && !visit.confirmed
    ///     }
    /// }
    ///
    /// let mut phone = TestPhone::new::<Reminder>(&[]).unwrap().with_objects().with_outbound();
    /// let start = |when: &str| format!(r#"{{"to": "+14155550100", "from": "+15005550006", "when": "{when}"}}"#);
    /// assert_eq!(phone.start(&start("Tuesday")).0, 201);
    /// // Not confirmed yet: a second start would cut in, and is refused.
    /// assert_eq!(phone.start(&start("Friday")).0, 409);
    /// phone.text("C");
    /// // Confirmed, so over: the next visit's reminder starts without "replace".
    /// assert_eq!(phone.start(&start("Friday")).0, 201);
    /// assert_eq!(phone.sent().last().unwrap().text(), "Your visit is Friday. Reply C to confirm.");
    /// ```
    fn in_progress(&self, state: &Self::State, chat: &View<'_>) -> bool {
        // As a state is stored: one that serialises as `Default` does is none (and one that
        // does not serialise is taken as held, to be safe).
        let held = match serde_json::to_string(state) {
            Ok(json) => serde_json::to_string(&Self::State::default()).ok() != Some(json),
            Err(_) => true,
        };
        chat.count > 0 || !chat.turns.is_empty() || held
    }

    /// Converts a state saved under an older [`Conversation::STATE_VERSION`], given as its
    /// JSON: read it as your old type (`serde_json::from_str::<OldStep>(old_json)`) or as a
    /// `serde_json::Value`. `None` (the default) reads it as the current type if it can, else
    /// starts afresh. (The JSON text rather than a parsed value, so a conversation that never
    /// upgrades carries no JSON-value parser in its wasm.)
    fn upgrade(from_version: u32, old_json: &str) -> Option<Self::State> {
        let _ = (from_version, old_json);
        None
    }
}

/// A request to start a conversation (`POST /conversations`).
///
/// A conversation that can be started: its opening message reads the request's own fields, and
/// the person's answer continues from the state the start left.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sms_conversation_worker::prelude::*;
///
/// struct Reminder;
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Visit { when: String }
///
/// impl Conversation for Reminder {
///     const NAME: &'static str = "reminder";
///     type State = Visit;
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Reminder)
///     }
///     async fn start(&self, start: &Start, visit: &mut Visit, _: &Context<'_>) -> Result<Reply, String> {
///         let when = start.fields.get("when").and_then(|w| w.as_str()).ok_or("a start needs when")?;
///         visit.when = when.to_string();
///         Ok(Reply::text(format!("Your visit is {when}. Reply C to confirm.")))
///     }
///     async fn reply(&self, _: &InboundMessage, _: &View<'_>, visit: &mut Visit, _: &Context<'_>) -> Reply {
///         Reply::text(format!("Confirmed: {}.", visit.when))
///     }
/// }
///
/// let mut phone = TestPhone::new::<Reminder>(&[]).unwrap().with_objects().with_outbound();
/// let json = r#"{"to": "+14155550100", "from": "+15005550006", "when": "Tuesday at 3pm"}"#;
/// assert_eq!(phone.start(json).0, 201);
/// assert_eq!(phone.sent()[0].text(), "Your visit is Tuesday at 3pm. Reply C to confirm.");
/// assert_eq!(phone.text("C").texts(), ["Confirmed: Tuesday at 3pm."]);
/// // A request the conversation cannot start from is a 400 with its words.
/// let (status, body) = phone.start(r#"{"to": "+14155550101", "from": "+15005550006"}"#);
/// assert_eq!(status, 400);
/// assert!(body.contains("a start needs when"), "{body}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// The person's number (the pair's `From` once they answer).
    pub to: String,
    /// Your Twilio number (the pair's `To`).
    pub from: String,
    /// The request's whole JSON object (`to` and `from` included), for the conversation to
    /// read its own fields.
    pub fields: serde_json::Map<String, serde_json::Value>,
}
