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
//! use sms_conversation_worker::conversation::InboundMessage;
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

mod budget;
pub(crate) mod client;
mod context;
mod conversation_trait;
mod converse;
mod inbound;
mod reply;
mod standing;
mod view;

pub use budget::{Budget, Clock};
pub(crate) use client::apart;
pub use client::{
    ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture, NoClient, PlatformFetch,
    DEFAULT_TIMEOUT,
};
/// For the tests of the whole path (`src/tests/idempotency_tests.rs`), which check the key sent.
#[cfg(all(test, feature = "harness"))]
pub(crate) use context::idempotency_key;
#[cfg(feature = "objects")]
pub(crate) use context::push_note;
pub use context::{AfterReply, Context};
pub use conversation_trait::{Conversation, Start};
pub use converse::{Converse, Ran, SavedState, StateError};
pub use inbound::{InboundMessage, Media};
pub use reply::{Reply, ReplyMessage, Template, MAX_MEDIA, MAX_REPLY_CHARS};
pub use standing::Standing;
#[cfg(feature = "objects")]
pub use standing::{Delivery, MAX_DELIVERIES};
pub use view::{Turn, View};
