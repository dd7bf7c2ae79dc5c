//! A webhook in the pair's object (feature `objects`).

use super::object::PairObject;
use super::outbox::{Outgoing, Progress, Why};
use super::store::ObjectStore;
use crate::object_calls::{ObjectAnswer, ObjectError, WebhookCall};

use crate::conversation::{push_note, AfterReply};
use crate::pipeline::{self, Intent};
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
    /// answer and the conversation's work to finish after it.
    pub(crate) async fn webhook(
        &self,
        call: &WebhookCall,
    ) -> Result<(ObjectAnswer, Vec<AfterReply>), ObjectError> {
        let message = &call.message;
        let intent = Intent::of(message, &self.setup.config);
        let pair = Pair::of(message);
        // The send in flight, read once for the two things a message changes about it.
        let in_flight = self.load_outgoing().await?;
        let in_flight = self.answered_start(&pair, in_flight).await?;
        let stored = self.load_record(&pair).await?;
        let first = stored.is_none();
        let cookie = call.cookie.as_deref();
        let (mut handled, done) =
            pipeline::respond(self.setup, message, intent, cookie, self.rt, Some(stored)).await;
        if done.change != Change::Unchanged {
            if let Err(too_large) = self.keep_turn(call, &pair, &done.record, first).await? {
                refused(&mut handled, too_large);
                return Ok((ObjectAnswer::from_handled(&handled), handled.after_reply));
            }
            // A newer message replaces or cancels the follow-up asked for before, and one on
            // its way is not sent again.
            if done.change == Change::Counted {
                self.stale_follow_up(in_flight).await?;
            }
            self.schedule(done.follow_up, done.record.seq).await?;
        }
        // The conversation's after-reply work goes to the object's `wait_until`: it must not
        // hold the answer.
        Ok((ObjectAnswer::from_handled(&handled), handled.after_reply))
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
