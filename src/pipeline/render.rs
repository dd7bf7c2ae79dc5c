//! The last step of the trip: the TwiML with the cookie Twilio keeps, the writes and work for
//! after the reply, and the log line of what was loaded, counted and saved.

use crate::conversation::{Context, InboundMessage};
use crate::mask::mask_number;
use crate::response::{Handled, LogEvent};
use crate::seal::{SealError, TooLarge};
use crate::storage::{Loaded, Saved};
use crate::twilio::{segments, twiml};

use super::Conversed;

/// The webhook's answer to `message` once `done` is saved as `saved`.
pub(super) fn render(
    message: &InboundMessage,
    loaded: Loaded,
    done: &mut Conversed,
    saved: Saved,
    ctx: &Context<'_>,
) -> Handled {
    let mut log = log_of(message, loaded, done, saved.error);
    if let Some(too_large) = saved.too_large {
        // Never silent: the turn was answered, but its record is kept nowhere.
        ctx.note(TooLarge::NOTE, &too_large.detail());
    }
    log.notes = ctx.take_notes();
    let mut handled = Handled::twiml(twiml::render(&done.reply), saved.set_cookie, log);
    handled.writes = saved.writes;
    handled.after_reply = ctx.take_after_reply();
    handled.response.dev_fetches = ctx.take_recorded();
    handled
}

/// The webhook's log line: what was loaded, counted and saved, and what failed on the way.
fn log_of(
    message: &InboundMessage,
    loaded: Loaded,
    done: &mut Conversed,
    seal_error: Option<SealError>,
) -> LogEvent {
    LogEvent {
        source: loaded.source,
        count: Some(done.record.count),
        kv_error: loaded.kv_error,
        seal_error,
        state_error: done.state_error.take(),
        segments: segments::reply_segments(&done.reply),
        ..LogEvent::new(done.outcome.clone(), Some(mask_number(&message.from)))
    }
}
