//! A webhook in the pair's object (feature `objects`).

use super::calls::{ObjectAnswer, ObjectError, WebhookCall};
use super::follow_up::schedule;
use super::outbox::{Outgoing, Progress, Why, OUTBOX};
use super::sends::settle;
use super::storage::{load_outgoing, load_record, packed, save_pair, save_record, ObjectStore};

use crate::app::{self, Intent, Runtime, Setup};
use crate::conversation::AfterReply;
use crate::record::Pair;
use crate::storage::{Change, Store};

/// A webhook in the pair's object: the record it keeps is authoritative. Returns the answer
/// and the conversation's work to finish after it.
pub async fn webhook<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &WebhookCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<(ObjectAnswer, Vec<AfterReply>), ObjectError> {
    let message = &call.message;
    let intent = Intent::of(message, &setup.config);
    let pair = Pair::of(message);
    // The send in flight, read once for the two things a message changes about it.
    let in_flight = load_outgoing(store).await?;
    let in_flight = answered_start(setup, store, rt, &pair, in_flight).await?;
    let stored = load_record(setup, store, &pair, rt.now).await?;
    let first = stored.is_none();
    let (handled, done) = app::respond(
        setup,
        message,
        intent,
        call.cookie.as_deref(),
        rt,
        Some(stored),
    )
    .await;
    if done.change != Change::Unchanged {
        save_record(setup, store, &pair, &done.record, rt.now).await?;
        if first || !call.origin.is_empty() {
            save_pair(store, &pair, &call.origin).await?;
        }
        // A newer message replaces or cancels the follow-up asked for before, and one on
        // its way is not sent again.
        if done.change == Change::Counted {
            stale_follow_up(store, in_flight).await?;
        }
        schedule(store, done.follow_up, done.record.seq, rt.now).await?;
    }
    // The conversation's after-reply work goes to the object's `wait_until`: it must not
    // hold the answer.
    Ok((ObjectAnswer::from_handled(&handled), handled.after_reply))
}

/// A text from the person while the opening of a start the worker made is unconfirmed: it
/// reached them (they answer it), so the start is kept as sent before the text is answered,
/// and the conversation they answer is the started one. Returns the send still in flight.
pub(super) async fn answered_start<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    pair: &Pair<'_>,
    in_flight: Option<Outgoing>,
) -> Result<Option<Outgoing>, ObjectError> {
    let Some(mut outgoing) = in_flight else {
        return Ok(None);
    };
    if !matches!(outgoing.why, Why::Start { .. }) || !outgoing.unsure() {
        return Ok(Some(outgoing));
    }
    // Its SID is Twilio's to tell (the status callback, or the list): unknown here.
    outgoing.sids.resize(outgoing.forms.len(), String::new());
    settle(setup, store, rt, pair, outgoing, Progress::Sent).await?;
    Ok(None)
}

/// A newer message came: a follow-up on its way (`in_flight`) is not sent again (what may
/// have gone out is still confirmed).
pub(super) async fn stale_follow_up<O: ObjectStore>(
    store: &O,
    in_flight: Option<Outgoing>,
) -> Result<(), ObjectError> {
    let Some(mut outgoing) = in_flight else {
        return Ok(());
    };
    if matches!(outgoing.why, Why::FollowUp { .. }) && !outgoing.stale {
        outgoing.stale = true;
        store.put(OUTBOX, &packed(&outgoing)?).await?;
    }
    Ok(())
}
