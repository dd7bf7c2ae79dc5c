//! The conversation with its state type erased, and the state as stored: the JSON that
//! [`Converse`] reads, upgrades and writes back.

use serde::{Deserialize, Serialize};

use super::client::LocalFuture;
use super::context::Context;
use super::conversation_trait::Conversation;
#[cfg(feature = "objects")]
use super::conversation_trait::Start;
use super::inbound::InboundMessage;
use super::reply::Reply;
use super::view::View;

/// [`Conversation`] with its state type erased, so the worker can pick one at run time
/// (the `CONVERSATION` var). Implemented for every conversation.
#[doc(hidden)]
pub trait Converse {
    /// [`Conversation::READS_OTHER_PARAMS`].
    #[cfg(feature = "studio")]
    fn reads_other_params(&self) -> bool;

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

    /// [`Conversation::in_progress`] over the stored state: whether a start must not replace
    /// it (`objects` feature, as above).
    #[cfg(feature = "objects")]
    fn in_progress(&self, saved: &SavedState, chat: View<'_>) -> bool;

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
    #[cfg(feature = "studio")]
    fn reads_other_params(&self) -> bool {
        C::READS_OTHER_PARAMS
    }

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

    #[cfg(feature = "objects")]
    fn in_progress(&self, saved: &SavedState, chat: View<'_>) -> bool {
        Conversation::in_progress(self, &saved.load::<C>(), &chat)
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
    /// The error for `C`'s state, with serde's reason only natively (see above).
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

#[cfg(test)]
mod tests;
