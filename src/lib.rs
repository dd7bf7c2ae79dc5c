//! Stateful Twilio SMS conversations on Cloudflare Workers, with each conversation's state
//! in a sealed cookie (and Workers KV or a Durable Object when bound).
//!
//! **Your worker is a crate of its own**: a conversation (implement
//! [`Conversation`](prelude::Conversation), everything it needs is in the [`prelude`]) and
//! one line that makes it the worker:
//!
//! ```
//! use sms_conversation_worker::prelude::*;
//!
//! /// Counts a person's texts.
//! struct Tally;
//!
//! impl Conversation for Tally {
//!     const NAME: &'static str = "tally";
//!     type State = ();
//!
//!     fn new(_vars: &Vars<'_>) -> Result<Self, ConfigError> {
//!         Ok(Tally)
//!     }
//!
//!     async fn reply(&self, _msg: &InboundMessage, chat: &View<'_>, _state: &mut (), _ctx: &Context<'_>) -> Reply {
//!         Reply::text(format!("That's {} texts.", chat.count))
//!     }
//! }
//!
//! sms_conversation_worker::worker!(Tally);
//!
//! let mut phone = TestPhone::new::<Tally>(&[]).unwrap();
//! assert_eq!(phone.text("hi").texts(), ["That's 1 texts."]);
//! ```
//!
//! The framework reserves some texts, which never reach [`Conversation::reply`](prelude::Conversation::reply):
//! - Twilio's opt-out keywords `STOP`, `STOPALL`, `UNSUBSCRIBE`, `CANCEL`, `END`, `QUIT`,
//!   `OPTOUT` and `REVOKE` (alone, any case): Twilio confirms the opt-out itself, and the
//!   worker answers with an empty `<Response/>` and remembers it for the pair. Until the
//!   person opts back in, none of their texts reaches the conversation and nothing is sent
//!   to them (no follow-up, no `POST /conversations`).
//! - Twilio's opt-in keywords `START` and `UNSTOP` (and `YES` from someone opted out): the
//!   opt-out is cleared, answered with `OPT_IN_REPLY` (none by default).
//! - `HELP` and `INFO`, when `HELP_REPLY` is set: answered with it.
//! - `RESET` (the var `RESET_KEYWORD`): forgets the conversation and answers
//!   "Your conversation has been reset."
//! - A retried delivery (a `MessageSid` already answered) gets the kept answer, and a
//!   status callback (no `Body`, a `MessageStatus`) an empty `<Response/>`.
//!
//! Cargo features, so a worker pays only for what it uses: `kv` (the `CONVERSATIONS` KV
//! namespace), `objects` (the `CONVERSATION_OBJECTS` Durable Objects: exact conversations
//! across isolates, follow-ups, `POST /conversations`), `counter`, `survey` and `studio` (the
//! shipped conversations), `smart-encoding` (`SMART_ENCODING`: `twilio::segments::smart_encode` on
//! replies), `state-api` (`/conversations/state`, with `kv` or `objects`), `harness` (the
//! native test phone). All are on by default.
//!
//! The rooms inside, from the top floor down (each imports only rooms below it): the Workers
//! adapter (`worker_entry/`, wasm32 only: it moves values in and out and runs the I/O);
//! [`harness`] (the test phone) and `inspect` (the dev phone's cookie inspector);
//! [`conversations`] (the shipped ones, the Studio runner among them); [`app`] (the routes:
//! the webhook, `POST /conversations`, the state API); `objects` (the pair's Durable Object);
//! `pipeline` (one webhook's trip: intent → load → converse → save → render); `response`,
//! `state_ops` and `object_calls`; `config`; `storage`, `seal` and `record` (where a pair's
//! record lives and how it is sealed); [`twilio`] (Twilio's protocol) and `platform` (the
//! runtime's `fetch` and timers); [`registry`] (which conversations a worker runs);
//! [`conversation`] (the API) at the bottom, with [`mask`], `fields`, `b64` and [`vars`]
//! beside it. All of it but the adapter is plain Rust, tested natively.

#![cfg_attr(
    feature = "harness",
    doc = "\n**The guides** ([`guide`]): your first conversation, testing, starts and follow-ups, \
           Studio flows, running it, and the dev tools."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod app;
mod b64;
#[cfg(feature = "bench-stages")]
#[doc(hidden)]
pub mod bench_stages;
pub mod config;
pub mod conversation;
pub mod conversations;
mod fields;
// The guides, built from `src/guide/*.md` for the docs and the doc tests only: they need the
// test phone (`harness`), on by default.
#[cfg(all(any(doc, doctest), feature = "harness"))]
pub mod guide;
#[cfg(feature = "harness")]
pub mod harness;
#[cfg(not(target_arch = "wasm32"))]
mod inspect;
pub mod mask;
mod object_calls;
mod objects;
mod pipeline;
pub mod record;
pub mod registry;
pub mod response;
pub mod seal;
#[cfg(state_api)]
mod state_ops;
pub mod storage;
pub mod twilio;
pub mod vars;

#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod worker_entry;

/// What a conversation needs: `use sms_conversation_worker::prelude::*;`.
pub mod prelude;

/// Makes the listed conversations the worker: `sms_conversation_worker::worker!(Mine);` in
/// your crate's `src/lib.rs` (a `cdylib`), once. `CONVERSATION` picks one by its
/// [`NAME`](conversation::Conversation::NAME); the first is the default.
///
/// It defines `pub static CONVERSATIONS` (the [`registry::Conversations`]) and, on wasm32,
/// the start hook that hands them to the framework's entry points (the fetch handler and
/// the Durable Object class come from this crate; the build bundles them). Natively it
/// defines the dev phone's cookie inspector for these conversations.
#[macro_export]
macro_rules! worker {
    ($($conversation:ty),+ $(,)?) => {
        /// The conversations this worker runs; `CONVERSATION` picks one by name, the first
        /// when unset.
        pub static CONVERSATIONS: $crate::registry::Conversations =
            $crate::registry::Conversations::new(&[
                $($crate::registry::Registered::of::<$conversation>()),+
            ]);

        /// Registers [`CONVERSATIONS`] when the wasm instance starts (again after a panic).
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[$crate::__private::wasm_bindgen::prelude::wasm_bindgen(
            start,
            wasm_bindgen = $crate::__private::wasm_bindgen
        )]
        pub fn __sms_conversation_worker_start() {
            $crate::__private::start(&CONVERSATIONS);
        }

        /// The dev phone's cookie inspector for [`CONVERSATIONS`]: one JSON request a
        /// line on stdin, one answer a line on stdout.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __sms_conversation_worker_inspect() {
            $crate::__private::inspect(&CONVERSATIONS);
        }
    };
}

/// What [`worker!`] expands to needs; not an API.
#[doc(hidden)]
pub mod __private {
    #[cfg(not(target_arch = "wasm32"))]
    pub use crate::inspect::serve as inspect;
    #[cfg(target_arch = "wasm32")]
    pub use crate::worker_entry::start;
    #[cfg(target_arch = "wasm32")]
    pub use wasm_bindgen;
}

#[cfg(all(test, feature = "harness"))]
mod tests;

/// The README's code blocks (its example conversation), compiled and run as doc tests; the
/// guides' are in [`guide`] (`src/guide.rs`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
