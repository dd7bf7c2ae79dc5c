//! The status callbacks of the object's own sends: the delivery status joins the record, and
//! a send unsure whether Twilio took a message learns that it did (feature `objects`).

use super::object::PairObject;
use super::sends::opted_out_at;
use super::store::ObjectStore;
use crate::object_calls::{ObjectError, StatusCall};

use crate::record::{Pair, Record};
use crate::storage::Store;
use crate::twilio::messages;

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// A verified status callback for one of our sends: the delivery status joins the
    /// record, and a send unsure whether Twilio took the message learns that it did.
    pub(crate) async fn status(&self, call: &StatusCall) -> Result<String, ObjectError> {
        let Some(stored_pair) = self.load_pair().await? else {
            return Ok("no conversation for this status".into());
        };
        let pair = stored_pair.pair();
        let confirmed = self.confirm(call).await?;
        let mut note = if confirmed { "confirmed a send; " } else { "" }.to_string();
        if let Some(record) = self.load_record(&pair).await? {
            if !confirmed && !is_ours(&record, call) {
                note.push_str("not one of the object's sends");
                return Ok(note);
            }
            self.delivered(&pair, record, call).await?;
        }
        note.push_str(&format!("status {}", call.status));
        Ok(note)
    }

    /// Whether the callback confirms the message the send in flight was unsure of; if so,
    /// the rest of the send goes on in the alarm, at once.
    async fn confirm(&self, call: &StatusCall) -> Result<bool, ObjectError> {
        let in_flight = self.load_outgoing().await?;
        let (Some(mut outgoing), Some(send)) = (in_flight, call.send.as_deref()) else {
            return Ok(false);
        };
        if !outgoing.confirm(send, &call.message_sid) {
            return Ok(false);
        }
        self.save_outgoing(&outgoing).await?;
        self.rearm(Some(self.now())).await?;
        Ok(true)
    }

    /// The delivery status joins `record`, kept when it changed anything.
    async fn delivered(
        &self,
        pair: &Pair<'_>,
        mut record: Record,
        call: &StatusCall,
    ) -> Result<(), ObjectError> {
        let now = self.now();
        if !tracked(&mut record, call, now) {
            return Ok(());
        }
        // A delivery status is no new copy of the conversation (the object's record is the
        // one that counts): the sequence stays, so a follow-up asked for still fits. An
        // opt-out is: it cancels what was asked before it.
        if call.error_code == Some(messages::OPTED_OUT) && !record.opted_out() {
            opted_out_at(&mut record, now);
        }
        self.save_record(pair, &record).await
    }
}

/// Whether a status callback is for one of the deliveries the record tracks.
fn is_ours(record: &Record, call: &StatusCall) -> bool {
    let deliveries = &record.standing.deliveries;
    deliveries.iter().any(|d| d.sid == call.message_sid)
}

/// The callback's status joins the record's deliveries: true when it changed anything.
fn tracked(record: &mut Record, call: &StatusCall, now: u64) -> bool {
    let sid = &call.message_sid;
    record.standing.track(sid, now);
    (record.standing).update(sid, &call.status, call.error_code, now)
}
