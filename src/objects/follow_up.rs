//! Follow-ups: the alarm that sends them, and the one alarm an object has (feature `objects`).

use serde::{Deserialize, Serialize};

use super::object::PairObject;
use super::outbox::{Outgoing, Why, OUTBOX};
use super::storage::{json, StoredPair, FOLLOW_UP};
use super::store::ObjectStore;
use super::window::OUTSIDE_WINDOW;
use crate::object_calls::ObjectError;

use crate::conversation::{Reply, SavedState, StateError};
use crate::record::Record;
use crate::storage::Store;
use crate::twilio::segments::as_configured;

/// A follow-up waiting for its alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingFollowUp {
    /// When it is due (Unix seconds).
    pub due: u64,
    /// The record's sequence when it was asked for: a newer message cancels it.
    pub seq: u64,
    /// Tries so far.
    pub attempt: u32,
}

/// Whether the alarm has a follow-up to send now.
enum Due {
    /// Yes: what was asked for, the pair, and its record as the follow-up found it.
    Now(PendingFollowUp, StoredPair, Box<Record>),
    /// No, and why (for the log); any pending follow-up that will never be due is gone.
    Not(&'static str),
}

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// The object's alarm: goes on with a send in flight, else sends the follow-up a reply
    /// asked for, unless a newer message came. Returns what happened, for the log.
    pub(crate) async fn alarm(&self) -> Result<String, ObjectError> {
        if let Some(outgoing) = self.load_outgoing().await? {
            return self.resume(outgoing).await;
        }
        // A late reply waiting for the outbox goes before a follow-up.
        if let Some(outgoing) = self.next_late().await? {
            return self.resume(outgoing).await;
        }
        match self.due_follow_up().await? {
            Due::Now(pending, stored_pair, record) => {
                self.follow_up(&pending, &stored_pair, *record).await
            }
            Due::Not(why) => Ok(why.into()),
        }
    }

    /// Goes on with the send in flight: it comes before any follow-up (one send at a time).
    async fn resume(&self, outgoing: Outgoing) -> Result<String, ObjectError> {
        let Some(stored_pair) = self.load_pair().await? else {
            self.store.delete(OUTBOX).await?;
            return Ok("a send without a pair: dropped".into());
        };
        self.proceed(&stored_pair, outgoing).await
    }

    /// Asks the conversation for the follow-up due now and sends what it says.
    async fn follow_up(
        &self,
        pending: &PendingFollowUp,
        stored_pair: &StoredPair,
        record: Record,
    ) -> Result<String, ObjectError> {
        self.store.delete(FOLLOW_UP).await?;
        if record.opted_out() {
            return Ok("the person opted out: no follow-up".into());
        }
        let id = format!("follow-up:{}", pending.seq);
        let ctx = self.context(&stored_pair.account_sid, &id);
        let mut state = record.state.clone();
        let conversation = &self.setup.conversation;
        let ran = conversation
            .follow_up(record.view(), &mut state, &ctx)
            .await;
        let notes = ctx.take_notes();
        if ran.answer.is_empty() {
            let what = "the conversation had nothing to say".to_string();
            return Ok(with_notes(what, &notes));
        }
        let what = self.send_follow_up(pending.seq, stored_pair, &record, ran.answer, state);
        let what = with_state_error(what.await?, ran.state_error);
        Ok(with_notes(what, &notes))
    }

    /// Sends `answer`, the follow-up asked for on the record at `seq`, leaving `state`.
    async fn send_follow_up(
        &self,
        seq: u64,
        stored_pair: &StoredPair,
        record: &Record,
        answer: Reply,
        state: SavedState,
    ) -> Result<String, ObjectError> {
        let answer = as_configured(answer, self.setup.config.smart_encoding);
        let Some(forms) = self.forms(stored_pair, record, &answer) else {
            return Err(ObjectError::FollowUp(format!(
                "follow-up not sent: {OUTSIDE_WINDOW}"
            )));
        };
        let outgoing = Outgoing::new(Why::FollowUp { seq }, forms, answer, state);
        self.proceed(stored_pair, outgoing).await
    }

    /// The pending follow-up, when it is due now; one no longer wanted is deleted, one not
    /// yet due sets the alarm again.
    async fn due_follow_up(&self) -> Result<Due, ObjectError> {
        let Some(pending) = self.store.get(FOLLOW_UP).await? else {
            return Ok(Due::Not("no follow-up pending"));
        };
        let Some(pending) = read_pending(&pending) else {
            return self.drop_follow_up("dropped an unreadable follow-up").await;
        };
        let Some(stored_pair) = self.load_pair().await? else {
            return self.drop_follow_up("no pair").await;
        };
        let Some(record) = self.load_kept(&stored_pair.pair()).await? else {
            return self.drop_follow_up("no record").await;
        };
        if record.seq != pending.seq {
            return self
                .drop_follow_up("a newer message came: no follow-up")
                .await;
        }
        if self.now() < pending.due {
            self.store.set_alarm(pending.due).await?;
            return Ok(Due::Not("early: alarm set again"));
        }
        Ok(Due::Now(pending, stored_pair, Box::new(record)))
    }

    /// Forgets the pending follow-up: it will never be due.
    async fn drop_follow_up(&self, why: &'static str) -> Result<Due, ObjectError> {
        self.store.delete(FOLLOW_UP).await?;
        Ok(Due::Not(why))
    }
}

impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// Sets the alarm for a follow-up asked `after` seconds from now on the record at `seq`,
    /// or cancels a pending one (only a pending one costs a write to cancel: reads are
    /// cheaper).
    pub(super) async fn schedule(&self, after: Option<u64>, seq: u64) -> Result<(), ObjectError> {
        match after {
            Some(after) => {
                let due = due_after(self.now(), after);
                let pending = PendingFollowUp {
                    due,
                    seq,
                    attempt: 0,
                };
                self.store.put(FOLLOW_UP, &json(&pending)?).await?;
                self.rearm(Some(due)).await
            }
            None if self.store.get(FOLLOW_UP).await?.is_some() => self.cancel_follow_up().await,
            None => Ok(()),
        }
    }

    /// Cancels the pending follow-up: no longer wanted, and the alarm set without it.
    async fn cancel_follow_up(&self) -> Result<(), ObjectError> {
        self.store.delete(FOLLOW_UP).await?;
        self.rearm(None).await
    }

    /// Sets the one alarm an object has: to the send in flight's next step while there is
    /// one (a follow-up due meanwhile waits for it: there is one send at a time), else to the
    /// earliest of `at` and the pending follow-up; cancels it when there is nothing to wake
    /// for.
    pub(super) async fn rearm(&self, at: Option<u64>) -> Result<(), ObjectError> {
        if let Some(outgoing) = self.load_outgoing().await? {
            return Ok(self.store.set_alarm(outgoing.wake_at()).await?);
        }
        if self.late_waiting().await? {
            return Ok(self.store.set_alarm(self.now()).await?);
        }
        let follow_up = self.pending_due().await?;
        match [at, follow_up].into_iter().flatten().min() {
            Some(at) => Ok(self.store.set_alarm(at).await?),
            None => Ok(self.store.delete_alarm().await?),
        }
    }

    /// When the pending follow-up is due, if one is (and reads).
    async fn pending_due(&self) -> Result<Option<u64>, ObjectError> {
        let text = self.store.get(FOLLOW_UP).await?;
        let pending = text.and_then(|t| read_pending(&t));
        Ok(pending.map(|p| p.due))
    }
}

/// The pending follow-up a text holds; `None` when it does not read.
fn read_pending(text: &str) -> Option<PendingFollowUp> {
    serde_json::from_str(text).ok()
}

/// What the follow-up did, and the conversation's state that did not serialise, if any.
fn with_state_error(what: String, error: Option<StateError>) -> String {
    match error {
        None => what,
        Some(e) => format!("{what}; {e}"),
    }
}

/// What the follow-up did, and what the conversation noted ([`Context::note`]), if anything:
/// a Studio execution a limit stopped says so here.
///
/// [`Context::note`]: crate::conversation::Context::note
fn with_notes(what: String, notes: &str) -> String {
    if notes.is_empty() {
        return what;
    }
    format!("{what}; notes {{{notes}}}")
}

/// When a follow-up asked for `after` seconds at `now` is due. `now` is whole seconds,
/// rounded down, so one more second keeps the wait from ever being shorter than asked.
fn due_after(now: u64, after: u64) -> u64 {
    now.saturating_add(after).saturating_add(1)
}
