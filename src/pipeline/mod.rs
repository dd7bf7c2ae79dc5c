//! The webhook's answer once it is known to be Twilio's, in one trip: intent → load →
//! converse → save → render. Below the routes (`app`) and the pair's Durable Object
//! (`objects`), which both run it: the worker for a pair answered from its cookie, the object
//! for a pair it keeps.

use std::rc::Rc;

use crate::conversation::Context;
use crate::conversation::InboundMessage;
use crate::mask::mask_number;
use crate::record::{Pair, Record};
use crate::response::{Handled, LogEvent};
use crate::storage::{Change, Storage, Store};
use crate::twilio::{segments, twiml};

mod converse;
mod intent;
mod runtime;

use converse::converse;
pub use converse::RESET_REPLY;
pub(crate) use intent::Intent;
pub use runtime::{Runtime, Setup};

/// The webhook's answer once it is known to be Twilio's: load the pair's record, converse,
/// save. `object` is the record the pair's Durable Object keeps, when it is the object
/// answering.
pub(crate) async fn respond<S: Store>(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    cookie: Option<&str>,
    rt: &Runtime<'_, S>,
    object: Option<Option<Record>>,
) -> (Handled, Done) {
    let config = &setup.config;
    let mut storage = Storage::new(&config.storage, Pair::of(message), rt.now, rt.kv, rt.memory);
    if let Some(stored) = object {
        storage = storage.in_object(stored);
    }
    #[cfg(state_api)]
    if config.admin.is_some() && rt.objects.is_none() {
        storage = storage.reading_kv_always();
    }
    let mut loaded = storage.load(cookie).await;
    let mut ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now)
        .for_message(message.account(), message.sid());
    if config.dev_record_fetches {
        ctx = ctx.recording();
    }
    let mut done = converse(setup, message, intent, &mut loaded, &ctx).await;
    let saved = storage.save(&done.record, done.change, &loaded);

    let log = LogEvent {
        source: loaded.source,
        count: Some(done.record.count),
        kv_error: loaded.kv_error,
        seal_error: saved.error,
        state_error: done.state_error.take(),
        segments: segments::reply_segments(&done.reply),
        ..LogEvent::new(done.outcome.clone(), Some(mask_number(&message.from)))
    };
    let mut handled = Handled::twiml(twiml::render(&done.reply), saved.set_cookie, log);
    handled.writes = saved.writes;
    handled.after_reply = ctx.take_after_reply();
    handled.response.dev_fetches = ctx.take_recorded();
    let follow_up = (done.change == Change::Counted)
        .then(|| done.reply.follow_up())
        .flatten();
    (
        handled,
        Done {
            record: done.record,
            change: done.change,
            follow_up,
        },
    )
}

/// What the webhook left, for the pair's Durable Object to keep.
#[cfg_attr(not(feature = "objects"), allow(dead_code))]
pub(crate) struct Done {
    /// The record after the message.
    pub record: Record,
    /// What kind of change it was.
    pub change: Change,
    /// Seconds after which the conversation asked to follow up.
    pub follow_up: Option<u64>,
}
