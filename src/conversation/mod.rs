//! **The conversation API: implement [`Conversation`] to write your own.**
//!
//! A conversation is a type with its own state type (any serde type with `Default`: a
//! struct, or an enum of steps), built once per isolate from its settings, and an async
//! [`Conversation::reply`] that answers each new message. Everything around it (the
//! signature check, retries, stale cookies, sealing, KV, TwiML) is the framework's; the
//! bookkeeping it relies on (sequence, count, MessageSids) is out of the conversation's
//! reach, and it sees it through a read-only [`View`].
//!
//! A conversation with typed steps, an outside call and a media reply, driven through the
//! whole webhook path by the native test phone ([`crate::harness::TestPhone`]):
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sms_conversation_worker::conversation::{ClientRequest, Context, Conversation, Reply, View};
//! use sms_conversation_worker::harness::TestPhone;
//! use sms_conversation_worker::twilio::params::InboundMessage;
//! use sms_conversation_worker::vars::{ConfigError, Vars};
//!
//! /// Asks for a breed, then answers with a photo from a dog API.
//! struct Dogs { api: String }
//!
//! #[derive(Default, Serialize, Deserialize)]
//! enum Step { #[default] Ask, Showing { breed: String } }
//!
//! #[derive(Deserialize)]
//! struct Photo { url: String }
//!
//! impl Conversation for Dogs {
//!     const NAME: &'static str = "dogs";
//!     type State = Step;
//!
//!     fn new(vars: &Vars) -> Result<Self, ConfigError> {
//!         let api = vars.get("DOG_API_URL").unwrap_or_else(|| "https://dogs.example".into());
//!         Ok(Dogs { api })
//!     }
//!
//!     async fn reply(&self, msg: &InboundMessage, _chat: &View<'_>, step: &mut Step, ctx: &Context<'_>) -> Reply {
//!         match step {
//!             Step::Ask => {
//!                 *step = Step::Showing { breed: String::new() };
//!                 Reply::text("Which breed would you like to see?")
//!             }
//!             Step::Showing { breed } => {
//!                 *breed = msg.body.trim().to_lowercase();
//!                 let url = format!("{}/{breed}/random", self.api);
//!                 // The message's key: a retry that runs `reply` again sends the same one.
//!                 let request = ClientRequest::get(url).idempotency_key(ctx.idempotency_key());
//!                 match ctx.fetch(request).await.and_then(|r| r.json::<Photo>()) {
//!                     Ok(photo) => Reply::text(format!("A {breed}!")).with_media(photo.url),
//!                     Err(_) => Reply::text("The dog service is napping; try again later."),
//!                 }
//!             }
//!         }
//!     }
//! }
//!
//! let mut phone = TestPhone::new::<Dogs>(&[("DOG_API_URL", "https://dogs.test")]).unwrap();
//! phone.http().respond("https://dogs.test/corgi/random", 200, r#"{"url": "https://img.test/c.jpg"}"#);
//! assert_eq!(phone.text("hi").texts(), ["Which breed would you like to see?"]);
//! let answer = phone.text("Corgi");
//! assert_eq!(answer.texts(), ["A corgi!"]);
//! assert_eq!(answer.media(), ["https://img.test/c.jpg"]);
//! // Twilio retries the last message: the same answer, no second call, nothing counted.
//! assert_eq!(phone.retry().media(), ["https://img.test/c.jpg"]);
//! assert_eq!(phone.http().requests().len(), 1);
//! assert_eq!(phone.count(), 2);
//! // Without the objects binding, a retry reaching another isolate with the cookie from
//! // before the message runs `reply` again: with the first call's Idempotency-Key.
//! phone.new_isolate();
//! phone.retry();
//! let sent = phone.http().requests();
//! assert_eq!(sent.len(), 2);
//! let key = sent[0].header_value("Idempotency-Key");
//! assert!(key.is_some());
//! assert_eq!(sent[1].header_value("Idempotency-Key"), key);
//! ```
//!
//! A call that changes something on the other side should carry
//! [`Context::idempotency_key`]: `reply` can run twice for one message, and the key says
//! when (and why) it does.
//!
//! Beyond [`Conversation::reply`]: a reply can ask for a follow-up when the person goes
//! quiet ([`Reply::follow_up_after`], answered by [`Conversation::follow_up`]), and
//! [`Conversation::start`] opens conversations the worker starts (`POST /conversations`);
//! both need the Durable Objects binding. [`crate::harness::TestPhone::with_objects`] runs
//! them natively, alarms included.
//!
//! # Evolving your state
//! The state is stored as JSON inside the sealed cookie, and Twilio keeps a pair's cookie
//! for up to four hours, so every deploy lands in live conversations. Adding a field with
//! `#[serde(default)]` (or to a struct marked `#[serde(default)]`) and removing one need
//! nothing: old states still read. For a change old states cannot read (renaming, reshaping
//! an enum), raise [`Conversation::STATE_VERSION`] and read the old JSON in
//! [`Conversation::upgrade`]; a state that neither reads nor upgrades starts from
//! `Default` while the count and history carry on.

mod client;
mod reply;
mod standing;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use client::{
    ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture, NoClient, PlatformFetch,
    DEFAULT_TIMEOUT,
};
pub use reply::{Reply, ReplyMessage, Template, MAX_MEDIA, MAX_REPLY_CHARS};
pub use standing::Standing;
#[cfg(feature = "objects")]
pub use standing::{Delivery, MAX_DELIVERIES};

use crate::twilio::params::InboundMessage;
use crate::vars::{ConfigError, Vars};

/// A conversation: its state type, its settings and its replies.
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// The person's number (the pair's `From` once they answer).
    pub to: String,
    /// Your Twilio number (the pair's `To`).
    pub from: String,
    /// Every other field of the request's JSON, for the conversation to read.
    pub fields: serde_json::Map<String, serde_json::Value>,
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
    /// Our reply (empty when we stayed silent).
    pub reply: Reply,
}

impl Turn {
    pub(crate) fn text_bytes(&self) -> usize {
        self.inbound.len() + self.message_sid.len() + self.reply.text_bytes()
    }
}

/// A read-only view of the conversation so far, for [`Conversation::reply`].
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

/// A conversation's own state as stored: JSON with the version that wrote it. Empty JSON
/// stands for `Default`, so a conversation without state costs no cookie bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[doc(hidden)]
pub struct SavedState {
    /// [`Conversation::STATE_VERSION`] of the writer (0: the first release's string map).
    pub version: u32,
    /// The state as JSON, or empty for `Default`.
    pub json: String,
}

impl SavedState {
    /// Reads the state for `C`, upgrading or starting afresh as [`Conversation::upgrade`]
    /// says.
    pub fn load<C: Conversation>(&self) -> C::State {
        self.try_load::<C>().unwrap_or_default()
    }

    /// [`SavedState::load`] without the fresh start: `None` when the state neither upgrades
    /// nor reads, for the harness to tell a saved state that would be lost.
    pub fn try_load<C: Conversation>(&self) -> Option<C::State> {
        if self.json.is_empty() {
            return Some(C::State::default());
        }
        if self.version != C::STATE_VERSION {
            if let Some(state) = C::upgrade(self.version, &self.json) {
                return Some(state);
            }
        }
        serde_json::from_str(&self.json).ok()
    }

    /// Saves `state` as `C`'s current version.
    ///
    /// # Errors
    /// [`StateError`] when `state` does not serialise (a map with non-string keys, a
    /// `Serialize` impl that fails): the caller keeps the state saved before.
    pub fn store<C: Conversation>(state: &C::State) -> Result<Self, StateError> {
        let json = serde_json::to_string(state).map_err(|e| StateError::of::<C>(&e))?;
        let default = serde_json::to_string(&C::State::default()).ok();
        Ok(SavedState {
            version: C::STATE_VERSION,
            json: if Some(&json) == default.as_ref() {
                String::new()
            } else {
                json
            },
        })
    }

    /// Runs `run` over the state for `C`, then stores what it leaves; a state that does not
    /// serialise leaves `self` as it was, and its error comes back with the answer.
    async fn run<C: Conversation, T>(
        &mut self,
        run: impl AsyncFnOnce(&mut C::State) -> T,
    ) -> Ran<T> {
        let mut state = self.load::<C>();
        let answer = run(&mut state).await;
        let state_error = match SavedState::store::<C>(&state) {
            Ok(saved) => {
                *self = saved;
                None
            }
            Err(e) => Some(e),
        };
        Ran {
            answer,
            state_error,
        }
    }
}

/// A conversation's state that did not serialise: the state saved before it was kept. It
/// names the state's type, and natively (tests, the test phone) serde's reason too; the wasm
/// leaves the reason out, which keeps serde_json's error formatting out of it (1.3 KB of a
/// cookie-only worker's gzipped wasm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateError(pub String);

impl StateError {
    fn of<C: Conversation>(e: &serde_json::Error) -> Self {
        let state = std::any::type_name::<C::State>();
        #[cfg(not(target_arch = "wasm32"))]
        let why = format!("{state}: {e}");
        #[cfg(target_arch = "wasm32")]
        let why = {
            let _ = e;
            state.to_string()
        };
        StateError(why)
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the conversation's state did not serialise ({}); the previous one was kept",
            self.0
        )
    }
}

/// What a run of a conversation ([`Converse`]) gave: its answer, and why the state it left
/// could not be stored, when it could not.
#[derive(Debug)]
#[must_use]
#[doc(hidden)]
pub struct Ran<T> {
    /// The conversation's answer.
    pub answer: T,
    /// The state did not serialise; the saved state is the one from before.
    pub state_error: Option<StateError>,
}

/// Work handed to the runtime to finish after the reply is sent (`ctx.wait_until` in the
/// worker); an `Err` is logged with the task's name.
pub struct AfterReply {
    /// Names the task in the log.
    pub name: &'static str,
    /// The work.
    pub work: LocalFuture<'static, Result<(), String>>,
}

impl Ran<Reply> {
    /// An answer the framework gives itself, with no state of the conversation's.
    pub(crate) fn saying(answer: Reply) -> Self {
        Ran {
            answer,
            state_error: None,
        }
    }

    /// No answer at all.
    pub(crate) fn silent() -> Self {
        Ran::saying(Reply::none())
    }
}

/// What a conversation may use besides its state: its settings, the clock, an HTTP
/// client, and the runtime's "after the reply" queue.
pub struct Context<'a> {
    vars: Vars<'a>,
    http: Rc<dyn HttpClient>,
    now: u64,
    after_reply: RefCell<Vec<AfterReply>>,
    /// The account and the id of what is being answered or sent, when known.
    message: Option<(String, String)>,
    /// Its key, made when first asked for: a worker whose conversation never asks carries
    /// none of the code.
    idempotency_key: std::cell::OnceCell<String>,
    /// With `DEV_RECORD_FETCHES`: each outside call and its answer, as a transcript's `fake`
    /// (a JSON array, written as they come), for the dev phone to save.
    recorded: Option<RefCell<String>>,
}

impl<'a> Context<'a> {
    /// A context over `vars`, `http` and the time `now` (Unix seconds).
    pub fn new(vars: Vars<'a>, http: Rc<dyn HttpClient>, now: u64) -> Self {
        Context {
            vars,
            http,
            now,
            after_reply: RefCell::new(Vec::new()),
            message: None,
            idempotency_key: std::cell::OnceCell::new(),
            recorded: None,
        }
    }

    /// The same context keeping each [`Context::fetch`] and its answer (`DEV_RECORD_FETCHES`,
    /// local development only: the answers go back in a response header).
    pub(crate) fn recording(mut self) -> Self {
        self.recorded = Some(RefCell::default());
        self
    }

    /// The calls recorded so far, as a JSON array of transcript fakes; `None` when not
    /// recording, or when there were none.
    pub(crate) fn take_recorded(&self) -> Option<String> {
        let mut json = std::mem::take(&mut *self.recorded.as_ref()?.borrow_mut());
        if json.is_empty() {
            return None;
        }
        json.push(']');
        Some(json)
    }

    /// The same context answering the message (or sending the follow-up or opening) that
    /// `id` names in `account_sid`: a MessageSid for a webhook, the send's own id for a
    /// follow-up or a start. Give the same `id` on every attempt at the same message, so
    /// that [`Context::idempotency_key`] is the same on each.
    pub(crate) fn for_message(mut self, account_sid: &str, id: &str) -> Self {
        self.message = (!id.is_empty()).then(|| (account_sid.to_string(), id.to_string()));
        self
    }

    /// Any var or secret by name (trimmed; `None` when unset or blank).
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name)
    }

    /// Unix seconds of this message.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// A key for the message being answered, the same on every retry of it and different for
    /// every other message: send it with your calls that change something
    /// ([`ClientRequest::idempotency_key`]), so that the other side can do the work once.
    ///
    /// It is needed because `reply` can run more than once for one message. With the
    /// Durable Objects (`CONVERSATION_OBJECTS` bound) the pair's object answers a retried
    /// MessageSid with the kept answer, without calling `reply`, as long as the object
    /// answers: when it cannot be reached the worker answers from the cookie, as without
    /// the objects. Without them a retry that reaches the isolate that answered first is
    /// answered from its memory (while it remembers the pair), but one that reaches another isolate carries the cookie
    /// the first attempt came with (Twilio never got the first answer, nor its cookie), and
    /// that one has not seen the message: `reply` runs again.
    ///
    /// 64 hex digits: SHA-256 over the AccountSid and the MessageSid, so the outside API
    /// sees no Twilio identifier it could look the message up by. `None` for a context made
    /// with [`Context::new`] alone (your own tests), which answers no particular message.
    ///
    /// ```
    /// # use sms_conversation_worker::conversation::{ClientRequest, Context};
    /// # async fn example(ctx: &Context<'_>) {
    /// let order = ClientRequest::post_json("https://shop.example/orders", &["one dog bed"])
    ///     .idempotency_key(ctx.idempotency_key());
    /// let _ = ctx.fetch(order).await;
    /// # }
    /// ```
    pub fn idempotency_key(&self) -> Option<&str> {
        let (account_sid, id) = self.message.as_ref()?;
        Some(
            self.idempotency_key
                .get_or_init(|| idempotency_key(account_sid, id)),
        )
    }

    /// Sends a request and waits for the answer, within the request's timeout.
    pub async fn fetch(&self, request: ClientRequest) -> Result<ClientResponse, ClientError> {
        let call = self
            .recorded
            .as_ref()
            .map(|_| (request.method.clone(), request.url.clone()));
        let answer = if self.http.is_platform() {
            platform_fetch(request).await
        } else {
            self.http.send(request).await
        };
        if let (Some(recorded), Some((method, url))) = (&self.recorded, call) {
            let mut json = recorded.borrow_mut();
            let separator = if json.is_empty() { '[' } else { ',' };
            json.push(separator);
            json.push_str(&client::fake_json(&method, &url, &answer));
        }
        answer
    }

    /// The HTTP client, for work done after the reply.
    pub fn http(&self) -> Rc<dyn HttpClient> {
        if self.http.is_platform() {
            return Rc::new(Platform);
        }
        Rc::clone(&self.http)
    }

    /// Hands `work` to the runtime to finish after the reply is on its way: it neither
    /// delays nor changes the reply, and its error is logged with `name` (numbers in it
    /// masked, [`crate::mask::mask_numbers`]). Workers give it about 30 s after the response.
    pub fn after_reply(
        &self,
        name: &'static str,
        work: impl Future<Output = Result<(), String>> + 'static,
    ) {
        self.after_reply.borrow_mut().push(AfterReply {
            name,
            work: Box::pin(work),
        });
    }

    /// The work queued with [`Context::after_reply`].
    pub fn take_after_reply(&self) -> Vec<AfterReply> {
        std::mem::take(&mut *self.after_reply.borrow_mut())
    }
}

/// The platform's `fetch` as a client, for work after the reply ([`Context::http`]).
struct Platform;

impl HttpClient for Platform {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
        platform_fetch(request)
    }
}

/// The Workers runtime's `fetch` (natively every call fails): called only from
/// [`Context::fetch`] and [`Context::http`], so a conversation that never makes a request
/// carries none of its code.
fn platform_fetch(
    request: ClientRequest,
) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::platform::fetch(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = request;
        Box::pin(async {
            Err(ClientError::Failed(
                "no fetch outside the Workers runtime".into(),
            ))
        })
    }
}

/// The hex SHA-256 of `account_sid` and `id`, length-prefixed under the key's purpose so
/// that it is no other hash the crate makes of the same SIDs.
pub(crate) fn idempotency_key(account_sid: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    crate::fields::length_prefixed(
        ["sms-conversation-worker idempotency v1", account_sid, id],
        |b| hash.update(b),
    );
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(64);
    for byte in hash.finalize() {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 15)]));
    }
    key
}

/// [`Conversation`] with its state type erased, so the worker can pick one at run time
/// (the `CONVERSATION` var). Implemented for every conversation.
#[doc(hidden)]
pub trait Converse {
    /// Runs [`Conversation::reply`] over the stored state and stores what it leaves.
    fn converse<'a>(
        &'a self,
        message: &'a InboundMessage,
        chat: View<'a>,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Reply>>;

    /// Runs [`Conversation::follow_up`] over the stored state (in the pair's Durable Object:
    /// not in a worker without the `objects` feature).
    #[cfg(feature = "objects")]
    fn follow_up<'a>(
        &'a self,
        chat: View<'a>,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Reply>>;

    /// Runs [`Conversation::start`] over a fresh state (`objects` feature, as above).
    #[cfg(feature = "objects")]
    fn start<'a>(
        &'a self,
        start: &'a Start,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Result<Reply, String>>>;

    /// A stored state as JSON text, read (and upgraded) as the conversation reads it: for
    /// the state API (`GET /conversations/state`), only in workers that keep states (KV,
    /// objects). Text rather than a `serde_json::Value`, whose code would be in the wasm.
    #[cfg(state_api)]
    fn describe_state(&self, saved: &SavedState) -> String;

    /// The JSON text `state` as the conversation's state type would store it, or why it is
    /// not one: for `PUT /conversations/state`.
    #[cfg(state_api)]
    fn check_state(&self, state: &str) -> Result<SavedState, String>;
}

impl<C: Conversation> Converse for C {
    #[cfg(state_api)]
    fn describe_state(&self, saved: &SavedState) -> String {
        serde_json::to_string(&saved.load::<C>()).unwrap_or_else(|_| "null".into())
    }

    #[cfg(state_api)]
    fn check_state(&self, state: &str) -> Result<SavedState, String> {
        let typed = serde_json::from_str::<C::State>(state)
            .map_err(|e| format!("not a state of the conversation \"{}\": {e}", C::NAME))?;
        SavedState::store::<C>(&typed).map_err(|e| e.to_string())
    }

    fn converse<'a>(
        &'a self,
        message: &'a InboundMessage,
        chat: View<'a>,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Reply>> {
        Box::pin(saved.run::<C, _>(async move |state| self.reply(message, &chat, state, ctx).await))
    }

    #[cfg(feature = "objects")]
    fn follow_up<'a>(
        &'a self,
        chat: View<'a>,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Reply>> {
        Box::pin(
            saved.run::<C, _>(async move |state| {
                Conversation::follow_up(self, &chat, state, ctx).await
            }),
        )
    }

    /// A start that fails stores nothing the caller keeps: its state is fresh and dropped.
    #[cfg(feature = "objects")]
    fn start<'a>(
        &'a self,
        start: &'a Start,
        saved: &'a mut SavedState,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Ran<Result<Reply, String>>> {
        Box::pin(
            saved
                .run::<C, _>(async move |state| Conversation::start(self, start, state, ctx).await),
        )
    }
}

#[cfg(test)]
mod tests;
