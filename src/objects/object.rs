//! The pair's object as one call sees it (feature `objects`).

use std::rc::Rc;

use super::store::ObjectStore;

use crate::conversation::Context;
use crate::pipeline::{Runtime, Setup};
use crate::storage::Store;

/// One call into a pair's object (a webhook, the alarm, a start, a status callback, a state
/// call): every step of it reads and writes the same storage under the same setup and
/// runtime, so they are bound once here rather than passed down through each step.
///
/// Generic over the two stores the free functions were already generic over: the wasm has
/// one instance of each step, as before. Only the wasm adapter and the harness call it, so a
/// native build with neither (`objects` alone, in clippy) has it unused.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
pub(crate) struct PairObject<'a, O, K> {
    /// The object's own storage and alarm.
    pub(super) store: &'a O,
    /// The worker's configuration and conversation.
    pub(super) setup: &'a Setup,
    /// The clock, vars, HTTP client and KV of the call.
    pub(super) rt: &'a Runtime<'a, K>,
}

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<'a, O: ObjectStore, K: Store> PairObject<'a, O, K> {
    /// The object reached through `store`, for one call.
    pub(crate) fn new(store: &'a O, setup: &'a Setup, rt: &'a Runtime<'a, K>) -> Self {
        PairObject { store, setup, rt }
    }

    /// The call's time (Unix seconds): every record, alarm and answer of the call uses it.
    pub(super) fn now(&self) -> u64 {
        self.rt.now
    }

    /// The conversation's context for a message of its own (`id` names it in `account_sid`,
    /// the same on every attempt, so its idempotency key is too).
    pub(super) fn context(&self, account_sid: &str, id: &str) -> Context<'a> {
        let http = Rc::clone(&self.rt.http);
        Context::new(self.rt.vars, http, self.now()).for_message(account_sid, id)
    }
}
