//! Without the `kv` feature no reply goes late from `waitUntil`: the same calls, on a type
//! that is never built, so none of the late path is in the wasm.

use std::convert::Infallible;
use std::marker::PhantomData;

use crate::config::Config;
use crate::conversation::{Context, InboundMessage, Reply};
use crate::pipeline::Runtime;
use crate::record::Record;
use crate::response::Handled;
use crate::storage::{Loaded, Storage, Store};

/// The log note's name (never written without KV).
pub(in crate::pipeline) const BEHIND: &str = "kv_behind";
/// What it says (never written without KV).
pub(in crate::pipeline) const BEHIND_DETAIL: &str = "";

/// Never built.
pub(in crate::pipeline) struct Late<'a>(Infallible, PhantomData<&'a ()>);

/// Never built.
pub(in crate::pipeline) struct Offered(Infallible);

impl<'a> Late<'a> {
    pub(in crate::pipeline) fn of<S: Store>(
        _: &'a Config,
        _: &Runtime<'a, S>,
        _: &InboundMessage,
    ) -> Option<Late<'a>> {
        None
    }

    pub(in crate::pipeline) fn still_running(&self, _: &InboundMessage) -> Option<Handled> {
        match self.0 {}
    }

    pub(in crate::pipeline) fn offer<S: Store>(
        &self,
        _: &Storage<'_, S>,
        _: &Loaded,
        _: &InboundMessage,
    ) -> Option<Offered> {
        match self.0 {}
    }

    pub(in crate::pipeline) fn claim(&self, _: &str, _: bool) -> bool {
        match self.0 {}
    }

    pub(in crate::pipeline) fn finish(
        &self,
        _: &mut Handled,
        offered: Offered,
        _: (&Reply, &InboundMessage),
        _: &Context<'_>,
    ) {
        match offered.0 {}
    }
}

/// Never called: no turn goes late.
pub(in crate::pipeline) fn kept_late(_: &mut Record, _: &str) {}
