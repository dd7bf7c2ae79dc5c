//! A webhook in the pair's object (feature `objects`).

use super::late::{can_go_late, Answered, LateSend, Race};
use super::object::PairObject;
use super::outbox::{Outgoing, Progress, Why};
use super::store::ObjectStore;
use crate::object_calls::{AnsweredOutcome, ObjectAnswer, ObjectError, WebhookCall};

use crate::conversation::{push_note, Budget};
use crate::pipeline::{self, Done, Intent};
use crate::record::{Pair, Record};
use crate::response::Handled;
use crate::seal::TooLarge;
use crate::storage::{Change, Store};

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// A webhook in the pair's object: the record it keeps is authoritative. Returns the
    /// answer and the conversation's work to finish after it. `race` says whether the
    /// deadline won meanwhile (`late.rs`): the reply then goes through the outbox and the
    /// answer is empty TwiML.
    pub(crate) async fn webhook(
        &self,
        call: &WebhookCall,
        race: &Race,
    ) -> Result<Answered, ObjectError> {
        let message = &call.message;
        if self.went_late(message.sid()).await? {
            return Ok(Answered::of(ObjectAnswer::late(AnsweredOutcome::Retry)));
        }
        let intent = Intent::of(message, &self.setup.config);
        let pair = Pair::of(message);
        let budget = self.budget(call);
        let rt = self.rt.within(budget);
        // The send in flight, read once for the two things a message changes about it.
        let in_flight = self.load_outgoing().await?;
        let in_flight = self.answered_start(&pair, in_flight).await?;
        let stored = self.load_record(&pair).await?;
        let first = stored.is_none();
        let cookie = call.cookie.as_deref();
        let (mut handled, done) =
            pipeline::respond(self.setup, message, intent, cookie, &rt, Some(stored)).await;
        let counted = done.change == Change::Counted;
        let late = self.goes_late(race, budget.as_ref(), message.account(), counted);
        if done.change != Change::Unchanged {
            let turn = (&pair, first, counted);
            self.keep_done(call, turn, &done, in_flight, &mut handled)
                .await?;
        }
        let answer = ObjectAnswer::from_handled(&handled);
        // The conversation's after-reply work goes to the object's `wait_until`: it must not
        // hold the answer.
        let mut answered = Answered::of(answer);
        answered.after_reply = handled.after_reply;
        if late {
            self.answer_late(message.sid(), &done.record, &mut answered)
                .await;
        }
        Ok(answered)
    }

    /// Keeps what a counted or changed turn left: the record, then the follow-up it asks
    /// for (a newer message replaces or cancels the one asked for before, and one on its way
    /// is not sent again). A record too large for the object keeps nothing of the turn: the
    /// reply still goes out (late if the deadline won), noted in `handled`.
    async fn keep_done(
        &self,
        call: &WebhookCall,
        (pair, first, counted): (&Pair<'_>, bool, bool),
        done: &Done,
        in_flight: Option<Outgoing>,
        handled: &mut Handled,
    ) -> Result<(), ObjectError> {
        if let Err(too_large) = self.keep_turn(call, pair, &done.record, first).await? {
            refused(handled, too_large);
            return Ok(());
        }
        if counted {
            self.stale_follow_up(in_flight).await?;
        }
        self.schedule(done.follow_up, done.record.seq).await
    }

    /// Sends the reply to message `sid` late (`record` holds its turn): the webhook's answer
    /// becomes empty TwiML, and the send is kept for the object's log line.
    async fn answer_late(&self, sid: &str, record: &Record, answered: &mut Answered) {
        let late = LateSend {
            result: self.send_late(sid, record).await,
            segments: answered.answer.segments.clone(),
        };
        let notes = std::mem::take(&mut answered.answer.notes);
        let count = answered.answer.count;
        answered.answer = ObjectAnswer::late(AnsweredOutcome::Late);
        // What the turn noted (a state too large to keep, say) and the message's count are
        // still the log's to say, as the webhook's line says them with KV alone.
        answered.answer.notes = notes;
        answered.answer.count = count;
        answered.late = Some(late);
    }

    /// The webhook's budget on the object's clock: it cuts outside calls only when the reply
    /// cannot go late (no Messages API credentials to send it with).
    fn budget(&self, call: &WebhookCall) -> Option<Budget<'_>> {
        let clock = self.rt.budget.as_ref()?;
        if call.deadline_ms == 0 {
            return None;
        }
        let cuts = !can_go_late(&self.setup.config, call.message.account());
        Some(clock.until(call.deadline_ms).cutting(cuts))
    }

    /// Keeps the record the message left, and the pair the first time (or the origin each
    /// time one comes, for status callbacks); the inner `Err` when the record is too large
    /// for the object, which then keeps nothing of the turn.
    async fn keep_turn(
        &self,
        call: &WebhookCall,
        pair: &Pair<'_>,
        record: &Record,
        first: bool,
    ) -> Result<Result<(), TooLarge>, ObjectError> {
        match self.save_record(pair, record).await {
            Err(ObjectError::TooLarge(too_large)) => return Ok(Err(too_large)),
            other => other?,
        }
        if first || !call.origin.is_empty() {
            self.save_pair(pair, &call.origin).await?;
        }
        Ok(Ok(()))
    }

    /// A text from the person while the opening of a start the worker made is unconfirmed:
    /// it reached them (they answer it), so the start is kept as sent before the text is
    /// answered, and the conversation they answer is the started one. Returns the send still
    /// in flight.
    async fn answered_start(
        &self,
        pair: &Pair<'_>,
        in_flight: Option<Outgoing>,
    ) -> Result<Option<Outgoing>, ObjectError> {
        let Some(mut outgoing) = in_flight else {
            return Ok(None);
        };
        if !is_unsure_start(&outgoing) {
            return Ok(Some(outgoing));
        }
        // Its SID is Twilio's to tell (the status callback, or the list): unknown here.
        outgoing.sids.resize(outgoing.forms.len(), String::new());
        self.settle(pair, outgoing, Progress::Sent).await?;
        Ok(None)
    }

    /// A newer message came: a follow-up on its way (`in_flight`) is not sent again (what
    /// may have gone out is still confirmed).
    async fn stale_follow_up(&self, in_flight: Option<Outgoing>) -> Result<(), ObjectError> {
        let Some(mut outgoing) = in_flight.filter(is_fresh_follow_up) else {
            return Ok(());
        };
        outgoing.stale = true;
        self.save_outgoing(&outgoing).await
    }
}

/// The answer to a turn whose record the object did not keep (too large): the reply still
/// goes out, but no cookie or KV write carries the record either, and the log says why. The
/// pair's next message goes on from the record kept before.
fn refused(handled: &mut Handled, too_large: TooLarge) {
    handled.response.set_cookie = None;
    handled.writes.clear();
    let notes = &mut handled.response.log.notes;
    push_note(notes, TooLarge::NOTE, &too_large.detail());
}

/// A start's opening Twilio may have without the object knowing.
fn is_unsure_start(outgoing: &Outgoing) -> bool {
    matches!(outgoing.why, Why::Start { .. }) && outgoing.unsure()
}

/// A follow-up on its way that no newer message has made stale yet.
fn is_fresh_follow_up(outgoing: &Outgoing) -> bool {
    matches!(outgoing.why, Why::FollowUp { .. }) && !outgoing.stale
}
