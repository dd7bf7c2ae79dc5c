//! Follow-ups: the alarm that sends them, and the one alarm an object has (feature `objects`).

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::calls::ObjectError;
use super::outbox::{Outgoing, Why, OUTBOX};
use super::sends::{forms, proceed, OUTSIDE_WINDOW};
use super::storage::{
    json, load_kept, load_outgoing, load_pair, ObjectStore, StoredPair, FOLLOW_UP,
};

use crate::app::{Runtime, Setup};
use crate::conversation::Context;
use crate::record::Record;
use crate::storage::Store;
use crate::twilio::segments::as_configured;

/// A follow-up waiting for its alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFollowUp {
    /// When it is due (Unix seconds).
    pub due: u64,
    /// The record's sequence when it was asked for: a newer message cancels it.
    pub seq: u64,
    /// Tries so far.
    pub attempt: u32,
}

/// The object's alarm: goes on with a send in flight, else sends the follow-up a reply asked
/// for, unless a newer message came. Returns what happened, for the log.
pub async fn alarm<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<String, ObjectError> {
    if let Some(outgoing) = load_outgoing(store).await? {
        let Some(stored_pair) = load_pair(store).await? else {
            store.delete(OUTBOX).await?;
            return Ok("a send without a pair: dropped".into());
        };
        return proceed(setup, store, rt, &stored_pair, outgoing).await;
    }
    let (pending, stored_pair, record) = match due_follow_up(setup, store, rt.now).await? {
        Due::Now(pending, stored_pair, record) => (pending, stored_pair, *record),
        Due::Not(why) => return Ok(why.into()),
    };
    store.delete(FOLLOW_UP).await?;
    if record.opted_out() {
        return Ok("the person opted out: no follow-up".into());
    }
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now).for_message(
        &stored_pair.account_sid,
        &format!("follow-up:{}", pending.seq),
    );
    let mut state = record.state.clone();
    let ran = setup
        .conversation
        .follow_up(record.view(), &mut state, &ctx)
        .await;
    if ran.answer.is_empty() {
        return Ok("the conversation had nothing to say".into());
    }
    let answer = as_configured(ran.answer, setup.config.smart_encoding);
    let Some(forms) = forms(setup, &stored_pair, &record, &answer, rt.now) else {
        return Err(ObjectError::FollowUp(format!(
            "follow-up not sent: {OUTSIDE_WINDOW}"
        )));
    };
    let outgoing = Outgoing::new(Why::FollowUp { seq: pending.seq }, forms, answer, state);
    let what = proceed(setup, store, rt, &stored_pair, outgoing).await?;
    Ok(match ran.state_error {
        None => what,
        Some(e) => format!("{what}; {e}"),
    })
}

/// Whether the alarm has a follow-up to send now.
pub(super) enum Due {
    /// Yes: what was asked for, the pair, and its record as the follow-up found it.
    Now(PendingFollowUp, StoredPair, Box<Record>),
    /// No, and why (for the log); any pending follow-up that will never be due is gone.
    Not(&'static str),
}

/// The pending follow-up, when it is due now; one no longer wanted is deleted, one not yet
/// due sets the alarm again.
pub(super) async fn due_follow_up<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    now: u64,
) -> Result<Due, ObjectError> {
    let Some(pending) = store.get(FOLLOW_UP).await? else {
        return Ok(Due::Not("no follow-up pending"));
    };
    let Ok(pending) = serde_json::from_str::<PendingFollowUp>(&pending) else {
        return drop_follow_up(store, "dropped an unreadable follow-up").await;
    };
    let Some(stored_pair) = load_pair(store).await? else {
        return drop_follow_up(store, "no pair").await;
    };
    let Some(record) = load_kept(setup, store, &stored_pair.pair(), now).await? else {
        return drop_follow_up(store, "no record").await;
    };
    if record.seq != pending.seq {
        return drop_follow_up(store, "a newer message came: no follow-up").await;
    }
    if now < pending.due {
        store.set_alarm(pending.due).await?;
        return Ok(Due::Not("early: alarm set again"));
    }
    Ok(Due::Now(pending, stored_pair, Box::new(record)))
}

/// Forgets the pending follow-up: it will never be due.
pub(super) async fn drop_follow_up<O: ObjectStore>(
    store: &O,
    why: &'static str,
) -> Result<Due, ObjectError> {
    store.delete(FOLLOW_UP).await?;
    Ok(Due::Not(why))
}

/// Sets the alarm for a follow-up asked `after` seconds from `now` on the record at `seq`,
/// or cancels a pending one (only a pending one costs a write to cancel: reads are cheaper).
pub(super) async fn schedule<O: ObjectStore>(
    store: &O,
    after: Option<u64>,
    seq: u64,
    now: u64,
) -> Result<(), ObjectError> {
    match after {
        Some(after) => {
            let pending = PendingFollowUp {
                due: due_after(now, after),
                seq,
                attempt: 0,
            };
            store.put(FOLLOW_UP, &json(&pending)?).await?;
            rearm(store, Some(pending.due)).await
        }
        None if store.get(FOLLOW_UP).await?.is_some() => {
            store.delete(FOLLOW_UP).await?;
            rearm(store, None).await
        }
        None => Ok(()),
    }
}

/// Sets the one alarm an object has: to the send in flight's next step while there is one
/// (a follow-up due meanwhile waits for it: there is one send at a time), else to the
/// earliest of `at` and the pending follow-up; cancels it when there is nothing to wake for.
pub(super) async fn rearm<O: ObjectStore>(store: &O, at: Option<u64>) -> Result<(), ObjectError> {
    if let Some(outgoing) = load_outgoing(store).await? {
        return Ok(store.set_alarm(outgoing.wake_at()).await?);
    }
    let follow_up = match store.get(FOLLOW_UP).await? {
        Some(text) => serde_json::from_str::<PendingFollowUp>(&text)
            .ok()
            .map(|p| p.due),
        None => None,
    };
    match [at, follow_up].into_iter().flatten().min() {
        Some(at) => Ok(store.set_alarm(at).await?),
        None => Ok(store.delete_alarm().await?),
    }
}

/// When a follow-up asked for `after` seconds at `now` is due. `now` is whole seconds,
/// rounded down, so one more second keeps the wait from ever being shorter than asked.
pub(super) fn due_after(now: u64, after: u64) -> u64 {
    now.saturating_add(after).saturating_add(1)
}
