//! The conversation's turn: a retry gets its kept answer, a keyword its rule, anything else
//! the conversation's reply, counted into the record.

use crate::conversation::InboundMessage;
use crate::conversation::{Context, Ran, Reply, StateError, Turn};
use crate::record::Record;
use crate::response::Outcome;
use crate::storage::{Change, Loaded};
use crate::twilio::segments;

use super::intent::{Intent, YES};
use super::Setup;

/// The reply to a reset keyword.
pub const RESET_REPLY: &str = "Your conversation has been reset.";

/// The record after this message, the reply, and what kind of change it was.
pub(super) struct Conversed {
    pub(super) outcome: Outcome,
    pub(super) record: Record,
    pub(super) reply: Reply,
    pub(super) change: Change,
    /// The conversation's state did not serialise: the record keeps the one from before.
    pub(super) state_error: Option<StateError>,
}

/// Answers the message. A MessageSid already seen (a retry, or a replay of a captured
/// webhook) gets the answer it got the first time and changes nothing, whatever it asked.
/// The record is taken out of `loaded` (a counted message changes it in place: no copy);
/// the rest of `loaded` stays for saving.
pub(super) async fn converse(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    loaded: &mut Loaded,
    ctx: &Context<'_>,
) -> Conversed {
    let sid = message.sid();
    if let Some(retry) = Conversed::retry(loaded, sid) {
        return retry;
    }
    let mut record = std::mem::take(&mut loaded.record);
    if intent == Intent::Reset {
        return Conversed::reset(&record, sid, ctx.now());
    }
    record.count_message(sid, ctx.now());
    let intent = match intent {
        Intent::Message if record.opted_out() && message.body.trim().eq_ignore_ascii_case(YES) => {
            Intent::OptIn
        }
        other => other,
    };
    let (outcome, ran) = match intent {
        Intent::OptOut => {
            record.standing.opted_out = Some(ctx.now());
            (Outcome::OptOut, Ran::silent())
        }
        Intent::OptIn => {
            record.standing.opted_out = None;
            let reply = setup.config.opt_in_reply.as_deref().map(Reply::text);
            (Outcome::OptIn, Ran::saying(reply.unwrap_or_default()))
        }
        Intent::Help => {
            let reply = setup.config.help_reply.as_deref().map(Reply::text);
            (Outcome::Help, Ran::saying(reply.unwrap_or_default()))
        }
        // Nothing of an opted-out person's reaches the conversation until they opt in.
        _ if record.opted_out() => (Outcome::OptedOut, Ran::silent()),
        _ => (Outcome::Reply, run(setup, message, &mut record, ctx).await),
    };
    let turn = Turn {
        at: ctx.now(),
        message_sid: sid.to_string(),
        inbound: message.body.clone(),
        reply: ran.answer.clone(),
    };
    record.answered(turn, setup.config.storage.history);
    Conversed {
        outcome,
        record,
        reply: ran.answer,
        change: Change::Counted,
        state_error: ran.state_error,
    }
}

/// Runs the conversation over the message just counted in `record`. Its state is lent out
/// while the rest of the record stays read-only. With `SMART_ENCODING` the reply loses its
/// UCS-2 look-alikes here, before it is rendered or kept for a retry.
async fn run(
    setup: &Setup,
    message: &InboundMessage,
    record: &mut Record,
    ctx: &Context<'_>,
) -> Ran<Reply> {
    let mut state = std::mem::take(&mut record.state);
    let mut ran = setup
        .conversation
        .converse(message, record.view(), &mut state, ctx)
        .await;
    record.state = state;
    ran.answer = segments::as_configured(ran.answer, setup.config.smart_encoding);
    ran
}

impl Conversed {
    /// The answer to a message already seen in the loaded record or the isolate's memory,
    /// when it is one: the same answer, nothing changed.
    fn retry(loaded: &Loaded, sid: &str) -> Option<Conversed> {
        let seen = [Some(&loaded.record), loaded.remembered.as_deref()]
            .into_iter()
            .flatten()
            .find(|r| r.has_seen(sid))?;
        Some(Conversed {
            outcome: Outcome::Retry,
            reply: seen.answer_to(sid).cloned().unwrap_or_default(),
            record: seen.clone(),
            change: Change::Unchanged,
            state_error: None,
        })
    }

    /// The reset keyword: the conversation forgotten, but not the messages it saw nor the
    /// pair's standing. An opted-out person is not answered.
    fn reset(record: &Record, sid: &str, now: u64) -> Conversed {
        let reply = if record.opted_out() {
            Reply::none()
        } else {
            Reply::text(RESET_REPLY)
        };
        Conversed {
            outcome: Outcome::Reset,
            record: record.reset(sid, reply.clone(), now),
            reply,
            change: Change::Reset,
            state_error: None,
        }
    }
}
