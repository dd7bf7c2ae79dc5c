//! The conversation's turn: a retry gets its kept answer, a keyword its rule, anything else
//! the conversation's reply, counted into the record.

use std::rc::Rc;

use crate::conversation::InboundMessage;
use crate::conversation::{Context, Ran, Reply, StateError, Turn};
use crate::record::Record;
use crate::response::Outcome;
use crate::storage::{empty_record, Change, Loaded};
use crate::twilio::segments;

use super::intent::{Intent, YES};
use super::Setup;

/// The reply to a reset keyword.
pub const RESET_REPLY: &str = "Your conversation has been reset.";

/// The record after this message, the reply, and what kind of change it was.
pub(super) struct Conversed {
    pub(super) outcome: Outcome,
    /// Shared with the isolate's memory when nothing changed (a retry): no copy.
    pub(super) record: Rc<Record>,
    pub(super) reply: Reply,
    pub(super) change: Change,
    /// The conversation's state did not serialise: the record keeps the one from before.
    pub(super) state_error: Option<StateError>,
}

/// Answers the message. A MessageSid already seen (a retry, or a replay of a captured
/// webhook) gets the answer it got the first time and changes nothing, whatever it asked.
/// The record is taken out of `loaded` (a counted message changes it in place, copied only
/// when the isolate's memory shares it); the rest of `loaded` stays for saving.
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
    let mut shared = std::mem::replace(&mut loaded.record, empty_record());
    if intent == Intent::Reset {
        return Conversed::reset(&shared, sid, ctx.now());
    }
    // Changed in place: copied only when the isolate's memory holds it too.
    let record = Rc::make_mut(&mut shared);
    record.count_message(sid, ctx.now());
    let intent = opting_in(intent, record, message);
    let (outcome, ran) = answer(setup, message, intent, record, ctx).await;
    let turn = turn(message, &ran.answer, ctx.now());
    record.answered(turn, setup.config.storage.history);
    Conversed::counted(outcome, shared, ran)
}

/// `YES` from a person who opted out opts them in; from anyone else it is a message.
fn opting_in(intent: Intent, record: &Record, message: &InboundMessage) -> Intent {
    let yes = record.opted_out() && message.body.trim().eq_ignore_ascii_case(YES);
    match intent {
        Intent::Message if yes => Intent::OptIn,
        other => other,
    }
}

/// The answer to a counted message: a keyword's rule, silence for an opted-out person, or
/// the conversation's reply.
async fn answer(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    record: &mut Record,
    ctx: &Context<'_>,
) -> (Outcome, Ran<Reply>) {
    let config = &setup.config;
    match intent {
        Intent::OptOut => opt_out(record, ctx.now()),
        Intent::OptIn => opt_in(record, config.opt_in_reply.as_deref()),
        Intent::Help => (Outcome::Help, configured(config.help_reply.as_deref())),
        // Nothing of an opted-out person's reaches the conversation until they opt in.
        _ if record.opted_out() => (Outcome::OptedOut, Ran::silent()),
        _ => (Outcome::Reply, run(setup, message, record, ctx).await),
    }
}

/// An opt-out keyword: the pair opted out from `now`, and no answer (Twilio gives one).
fn opt_out(record: &mut Record, now: u64) -> (Outcome, Ran<Reply>) {
    record.standing.opted_out = Some(now);
    (Outcome::OptOut, Ran::silent())
}

/// An opt-in keyword: the opt-out cleared, and `OPT_IN_REPLY` when it is set.
fn opt_in(record: &mut Record, reply: Option<&str>) -> (Outcome, Ran<Reply>) {
    record.standing.opted_out = None;
    (Outcome::OptIn, configured(reply))
}

/// A keyword's configured reply (`OPT_IN_REPLY`, `HELP_REPLY`): nothing when it is unset.
fn configured(reply: Option<&str>) -> Ran<Reply> {
    Ran::saying(reply.map(Reply::text).unwrap_or_default())
}

/// The turn the record keeps of this message and its answer, for the history and retries.
fn turn(message: &InboundMessage, answer: &Reply, now: u64) -> Turn {
    Turn {
        at: now,
        message_sid: message.sid().to_string(),
        inbound: message.body.clone(),
        reply: answer.clone(),
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
    /// A counted message's record and reply, and the state that did not serialise, if any.
    fn counted(outcome: Outcome, record: Rc<Record>, ran: Ran<Reply>) -> Conversed {
        Conversed {
            outcome,
            record,
            reply: ran.answer,
            change: Change::Counted,
            state_error: ran.state_error,
        }
    }

    /// The answer to a message already seen in the loaded record or the isolate's memory,
    /// when it is one: the same answer, nothing changed, and the record that saw it shared,
    /// not copied.
    fn retry(loaded: &Loaded, sid: &str) -> Option<Conversed> {
        let seen = seen_in(loaded, sid)?;
        let reply = seen.answer_to(sid).cloned().unwrap_or_default();
        let record = Rc::clone(seen);
        let same = Conversed::not_run(Outcome::Retry, record, reply, Change::Unchanged);
        Some(same)
    }

    /// The reset keyword: the conversation forgotten, but not the messages it saw nor the
    /// pair's standing. An opted-out person is not answered.
    fn reset(record: &Record, sid: &str, now: u64) -> Conversed {
        let reply = reset_reply(record);
        let record = Rc::new(record.reset(sid, reply.clone(), now));
        Conversed::not_run(Outcome::Reset, record, reply, Change::Reset)
    }

    /// An answer the conversation did not run for (a retry, a reset): no state of its own
    /// can have failed to serialise.
    fn not_run(outcome: Outcome, record: Rc<Record>, reply: Reply, change: Change) -> Conversed {
        Conversed {
            outcome,
            record,
            reply,
            change,
            state_error: None,
        }
    }
}

/// The copy that saw `sid` already, the loaded record's or the isolate memory's, if any.
pub(super) fn seen_in<'l>(loaded: &'l Loaded, sid: &str) -> Option<&'l Rc<Record>> {
    [Some(&loaded.record), loaded.remembered.as_ref()]
        .into_iter()
        .flatten()
        .find(|r| r.has_seen(sid))
}

/// The reply to the reset keyword: none for an opted-out person.
fn reset_reply(record: &Record) -> Reply {
    if record.opted_out() {
        Reply::none()
    } else {
        Reply::text(RESET_REPLY)
    }
}
