//! The pair's Durable Object (`CONVERSATION_OBJECTS`, class `ConversationObject`), in plain
//! Rust: the worker hands each verified webhook of a pair to the pair's object, which
//! answers one message at a time against the record it keeps, sets an alarm when a reply
//! asks for a follow-up, and starts conversations (`POST /conversations`).
//!
//! The adapter (`worker_entry/objects.rs`) only moves these calls over `stub.fetch` and maps
//! [`ObjectStore`] onto the object's storage and alarm; everything here is tested natively
//! with the harness's in-memory `MapObjectStore`.

//!
//! [`object_calls`](crate::object_calls) is what the webhook's path sees of the objects (the
//! calls, their answers, the namespace), in every build, in a room below the pipeline; the
//! object's own side is the `objects` feature's, so a worker without it carries none of it.

#[cfg(feature = "objects")]
mod follow_up;
#[cfg(feature = "objects")]
mod late;
#[cfg(feature = "objects")]
mod object;
#[cfg(feature = "objects")]
mod outbox;
#[cfg(feature = "objects")]
mod sends;
#[cfg(feature = "objects")]
mod starts;
#[cfg(all(feature = "objects", feature = "state-api"))]
mod state;
#[cfg(feature = "objects")]
mod status;
#[cfg(feature = "objects")]
mod storage;
#[cfg(feature = "objects")]
mod store;
#[cfg(feature = "objects")]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // The wasm adapter's alone.
mod turnstile;
#[cfg(feature = "objects")]
mod webhook;
#[cfg(feature = "objects")]
mod window;

/// Only the wasm adapter and the harness call into an object.
#[cfg(all(feature = "objects", any(target_arch = "wasm32", feature = "harness")))]
pub(crate) use self::object::PairObject;
#[cfg(feature = "objects")]
#[allow(unused_imports)]
// Which of them are used depends on the target: the wasm adapter, the harness, tests.
pub(crate) use self::{
    follow_up::PendingFollowUp,
    late::{can_go_late, Answered, LateSend, Race},
    outbox::{
        Outgoing, Phase, Why, CONFIRM_AFTER_SECONDS, MAX_CHECKS, MAX_SEND_ATTEMPTS,
        RETRY_BASE_SECONDS,
    },
    starts::START_KEY_SECONDS,
    store::ObjectStore,
    turnstile::{TurnGuard, Turnstile},
    window::WHATSAPP_WINDOW_SECONDS,
};

#[cfg(all(test, feature = "objects"))]
mod tests;
