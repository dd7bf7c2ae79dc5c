//! The webhook's answer once it is known to be Twilio's, in one trip: intent → load →
//! converse → save → render. Below the routes (`app`) and the pair's Durable Object
//! (`objects`), which both run it: the worker for a pair answered from its cookie, the object
//! for a pair it keeps.

use std::rc::Rc;

use crate::config::Config;
use crate::conversation::Context;
use crate::conversation::InboundMessage;
use crate::record::{Pair, Record};
use crate::response::Handled;
use crate::storage::{Change, Storage, Store};

mod answer;
mod converse;
mod intent;
mod late;
mod render;
mod runtime;
mod status;

pub(crate) use answer::answer;
pub use converse::RESET_REPLY;
use converse::{converse, Conversed};
pub(crate) use intent::Intent;
use late::Late;
pub use late::LateRace;
use render::render;
pub use runtime::{Runtime, Setup};
pub(crate) use status::status_callback;

/// The webhook's answer once it is known to be Twilio's: load the pair's record, converse,
/// save. `object` is the record the pair's Durable Object keeps, when it is the object
/// answering.
#[cfg_attr(not(feature = "objects"), allow(dead_code))]
pub(crate) async fn respond<S: Store>(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    cookie: Option<&str>,
    rt: &Runtime<'_, S>,
    object: Option<Option<Record>>,
) -> (Handled, Done) {
    let trip = Trip {
        setup,
        message,
        intent,
        cookie,
    };
    trip.respond(rt, object, None).await
}

/// One message's trip through the pipeline.
struct Trip<'t> {
    setup: &'t Setup,
    message: &'t InboundMessage,
    intent: Intent,
    cookie: Option<&'t str>,
}

impl Trip<'_> {
    /// Load → converse → save → render; with `late`, the turn is raced against the budget's
    /// deadline once the record is loaded, and a reply that outlasts it goes late.
    async fn respond<S: Store>(
        &self,
        rt: &Runtime<'_, S>,
        object: Option<Option<Record>>,
        late: Option<&Late<'_>>,
    ) -> (Handled, Done) {
        let (setup, message) = (self.setup, self.message);
        let storage = storage_for(&setup.config, message, rt, object);
        let mut loaded = storage.load(self.cookie).await;
        let offered = late.and_then(|l| l.offer(&storage, &loaded, message));
        let ctx = context_for(&setup.config, message, rt, offered.is_some());
        if late.is_some() && loaded.pointer_unread {
            ctx.note(late::BEHIND, late::BEHIND_DETAIL);
        }
        let mut done = converse(setup, message, self.intent, &mut loaded, &ctx).await;
        let claimed = late.filter(|_| offered.is_some());
        // The clock is read only for a turn that may go late (in wasm, a call out to JS).
        let passed = || rt.budget.as_ref().is_some_and(|b| b.passed());
        let went_late = claimed.is_some_and(|l| l.claim(message.sid(), passed()));
        if went_late {
            late::kept_late(Rc::make_mut(&mut done.record), message.sid());
        }
        let saved = storage.save_shared(&done.record, done.change, &loaded);
        if saved.too_large.is_some() {
            // Kept nowhere: for the pair's object too, nothing changed.
            done.change = Change::Unchanged;
        }
        let mut handled = render(message, loaded, &mut done, saved, &ctx);
        if let (Some(late), Some(offered)) = (late.filter(|_| went_late), offered) {
            late.finish(&mut handled, offered, (&done.reply, message), &ctx);
        }
        (handled, Done::of(done))
    }
}

/// The pair's storage for this webhook: inside the pair's object, the record it keeps; with
/// the state API and no objects, KV read even when the cookie holds the record (the API may
/// have changed it).
fn storage_for<'a, S: Store>(
    config: &'a Config,
    message: &'a InboundMessage,
    rt: &Runtime<'a, S>,
    object: Option<Option<Record>>,
) -> Storage<'a, S> {
    let mut storage = Storage::new(&config.storage, Pair::of(message), rt.now, rt.kv, rt.memory);
    if let Some(stored) = object {
        storage = storage.in_object(stored);
    }
    #[cfg(state_api)]
    if api_changes_kv(config, rt) {
        storage = storage.reading_kv_always();
    }
    storage
}

/// Whether the state API may change the pair's KV entry behind the cookie's back: it is
/// enabled and no objects keep the records.
#[cfg(state_api)]
fn api_changes_kv<S>(config: &Config, rt: &Runtime<'_, S>) -> bool {
    config.admin.is_some() && rt.objects.is_none()
}

/// The conversation's context for this message, recording its fetches with
/// `DEV_RECORD_FETCHES`. A reply that may go late (`may_go_late`) keeps its outside calls'
/// own timeouts; otherwise the runtime's budget says (an object's cuts unless it can send).
fn context_for<'a, S>(
    config: &Config,
    message: &InboundMessage,
    rt: &Runtime<'a, S>,
    may_go_late: bool,
) -> Context<'a> {
    let budget = rt
        .budget
        .map(|b| if may_go_late { b.cutting(false) } else { b });
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now)
        .for_message(message.account(), message.sid())
        .within(budget);
    if config.dev_record_fetches {
        ctx.recording()
    } else {
        ctx
    }
}

/// What the webhook left, for the pair's Durable Object to keep.
#[cfg_attr(not(feature = "objects"), allow(dead_code))]
pub(crate) struct Done {
    /// The record after the message (shared with the isolate's memory).
    pub record: Rc<Record>,
    /// What kind of change it was.
    pub change: Change,
    /// Seconds after which the conversation asked to follow up.
    pub follow_up: Option<u64>,
}

impl Done {
    /// What the object keeps of a conversed message: the record, the change, and the
    /// follow-up a counted reply asked for.
    fn of(done: Conversed) -> Done {
        Done {
            follow_up: follow_up(&done),
            record: done.record,
            change: done.change,
        }
    }
}

/// The follow-up the reply asked for, when the message was counted (a retry's or a reset's
/// asks nothing new).
fn follow_up(done: &Conversed) -> Option<u64> {
    (done.change == Change::Counted)
        .then(|| done.reply.follow_up())
        .flatten()
}
