//! Replies that outlast the webhook's budget (feature `objects`).
//!
//! Twilio waits 15 s for a webhook's answer, and a late answer is lost. The worker passes the
//! webhook's deadline (`REPLY_BUDGET_SECONDS` from its arrival) in the call; the object races
//! the turn (waiting for the turnstile, then the work) against it. When the deadline wins, the
//! webhook is answered with empty TwiML while the turn goes on; once it has the reply, the
//! record is kept as for any message and the reply goes to the person through the Messages
//! API, from the outbox (`outbox.rs`), each message once. A retry of that message then gets
//! empty TwiML, never the reply again and never a second run.

use std::cell::Cell;

use super::object::PairObject;
use super::outbox::{Outgoing, Why, OUTBOX};
use super::storage::{json, packed, unpacked, StoredPair};
use super::store::ObjectStore;
use crate::object_calls::{AnsweredOutcome, ObjectAnswer, ObjectError};

use crate::config::Config;
use crate::conversation::{AfterReply, Budget};
use crate::record::Record;
use crate::storage::Store;
use crate::twilio::segments::Segments;
use crate::twilio::twiml;

/// Where an object keeps the MessageSids it answered late (the newest last).
pub(super) const LATE: &str = "late";
/// Late replies waiting for the outbox, which holds one send at a time.
pub(super) const LATE_QUEUE: &str = "late_queue";
/// How many late MessageSids an object remembers: Twilio's retries come within seconds.
const REMEMBERED: usize = 16;

/// Who answers a message: the turn, in the webhook's TwiML, or (once the deadline has won)
/// the outbox. Shared by the turn and whatever waits for it (the adapter's timer, a retry of
/// the same message), so exactly one of them decides.
#[derive(Debug, Default)]
pub(crate) struct Race(Cell<Decided>);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Decided {
    #[default]
    Open,
    /// The turn answers in the TwiML.
    InTime,
    /// The deadline won: the reply goes through the outbox.
    Late,
}

impl Race {
    /// The deadline won, or a retry came: true when the reply now goes late, false when the
    /// turn had already claimed the TwiML. The wasm adapter's alone: natively nothing runs
    /// beside a turn, and the clock tells.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn expire(&self) -> bool {
        match self.0.get() {
            Decided::InTime => false,
            _ => {
                self.0.set(Decided::Late);
                true
            }
        }
    }

    /// Whether the race has gone late.
    pub(crate) fn is_late(&self) -> bool {
        self.0.get() == Decided::Late
    }

    /// The turn has its reply: true when it goes late (the race expired, or `budget` shows
    /// the deadline passed), false when the turn now answers in the TwiML.
    fn late_at_claim(&self, budget: Option<&Budget<'_>>) -> bool {
        if self.0.get() == Decided::Open && budget.is_some_and(Budget::passed) {
            self.0.set(Decided::Late);
        }
        if self.0.get() == Decided::Open {
            self.0.set(Decided::InTime);
        }
        self.is_late()
    }
}

/// Whether a reply to account `account_sid` may go late: only the objects send on their own,
/// with the Messages API's credentials. Without them the object never races the deadline.
pub(crate) fn can_go_late(config: &Config, account_sid: &str) -> bool {
    config.outbound.credentials(account_sid).is_some()
}

/// What a webhook in the object left: the answer, the conversation's work for after it, and
/// the late send when the reply went late (for the object's own log line).
// Read by the wasm adapter and the harness, which run an object's webhook.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
pub(crate) struct Answered {
    /// The webhook's answer.
    pub answer: ObjectAnswer,
    /// The conversation's after-reply work.
    pub after_reply: Vec<AfterReply>,
    /// The late reply's send, when the deadline won.
    pub late: Option<LateSend>,
}

impl Answered {
    /// An answer with nothing after it.
    pub(super) fn of(answer: ObjectAnswer) -> Answered {
        Answered {
            answer,
            after_reply: Vec::new(),
            late: None,
        }
    }
}

/// A late reply's send: what became of it, and what its messages cost.
// Read by the wasm adapter and the harness, which run an object's webhook.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
pub(crate) struct LateSend {
    /// What the outbox did (an error when it failed or was refused).
    pub result: Result<String, ObjectError>,
    /// Each message's segments.
    pub segments: Vec<Segments>,
}

// Read by the wasm adapter and the harness, which run an object's webhook.
#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl LateSend {
    /// The object's log line for it: `{"event":"late_reply","result"|"error":…,"segments":[…]}`.
    pub(crate) fn log_line(&self) -> String {
        let (name, text) = match &self.result {
            Ok(what) => ("result", what.clone()),
            Err(e) => ("error", e.to_string()),
        };
        let segments = serde_json::to_string(&self.segments).unwrap_or_default();
        format!(
            "{{\"event\":\"late_reply\",\"{name}\":{},\"segments\":{segments}}}",
            crate::response::json_string(&crate::mask::mask_numbers(&text))
        )
    }
}

impl ObjectAnswer {
    /// The answer to a webhook whose reply goes (or went) late: empty TwiML, no cookie (the
    /// object's record is the one that counts).
    pub(crate) fn late(outcome: AnsweredOutcome) -> ObjectAnswer {
        ObjectAnswer {
            body: twiml::empty(),
            set_cookie: None,
            outcome,
            source: Some(crate::storage::Source::Object),
            count: None,
            writes: Vec::new(),
            segments: Vec::new(),
            notes: String::new(),
        }
    }
}

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// Whether message `sid` was answered late: its retries get empty TwiML. Reads storage
    /// only, so it needs no turn.
    pub(crate) async fn went_late(&self, sid: &str) -> Result<bool, ObjectError> {
        Ok(self.late_sids().await?.iter().any(|s| s == sid))
    }

    /// Decides, now that the turn has its reply, whether it goes late: never when it could
    /// not be sent (no credentials), for then the TwiML is its only way to the person.
    pub(super) fn goes_late(
        &self,
        race: &Race,
        budget: Option<&Budget<'_>>,
        account_sid: &str,
        counted: bool,
    ) -> bool {
        counted && can_go_late(&self.setup.config, account_sid) && race.late_at_claim(budget)
    }

    /// Sends the reply to message `sid` on its own: `record` holds its turn. The reply goes
    /// now when the outbox is free, else it waits in the queue for the alarm. Says what
    /// happened, for the object's log line.
    pub(super) async fn send_late(
        &self,
        sid: &str,
        record: &Record,
    ) -> Result<String, ObjectError> {
        self.remember_late(sid).await?;
        let reply = record.answer_to(sid).cloned().unwrap_or_default();
        if reply.is_empty() {
            return Ok("late: nothing to send".into());
        }
        let Some(stored_pair) = self.load_pair().await? else {
            return Err(ObjectError::FollowUp("late reply not sent: no pair".into()));
        };
        let Some(forms) = self.forms(&stored_pair, record, &reply) else {
            let why = super::window::OUTSIDE_WINDOW;
            return Err(ObjectError::FollowUp(format!("late reply not sent: {why}")));
        };
        let why = Why::Late {
            message_sid: sid.to_string(),
        };
        let outgoing = Outgoing::new(why, forms, reply, record.state.clone());
        self.send_or_queue(&stored_pair, outgoing).await
    }

    /// Sends `outgoing` now when no other send is in flight, else queues it behind.
    async fn send_or_queue(
        &self,
        stored_pair: &StoredPair,
        outgoing: Outgoing,
    ) -> Result<String, ObjectError> {
        if self.store.get(OUTBOX).await?.is_none() {
            return self.proceed(stored_pair, outgoing).await;
        }
        let mut queue = self.late_queue().await?;
        let id = outgoing.id.clone();
        queue.push(outgoing);
        self.store.put(LATE_QUEUE, &packed(&queue)?).await?;
        Ok(format!("late reply {id} queued behind the send in flight"))
    }

    /// The next queued late reply, taken out of the queue, when the outbox is free for it.
    pub(super) async fn next_late(&self) -> Result<Option<Outgoing>, ObjectError> {
        let mut queue = self.late_queue().await?;
        if queue.is_empty() {
            return Ok(None);
        }
        let next = queue.remove(0);
        if queue.is_empty() {
            self.store.delete(LATE_QUEUE).await?;
        } else {
            self.store.put(LATE_QUEUE, &packed(&queue)?).await?;
        }
        Ok(Some(next))
    }

    /// Whether a late reply waits in the queue (the alarm is then due now).
    pub(super) async fn late_waiting(&self) -> Result<bool, ObjectError> {
        Ok(self.store.get(LATE_QUEUE).await?.is_some())
    }

    /// The queued late replies (none when the queue does not read).
    async fn late_queue(&self) -> Result<Vec<Outgoing>, ObjectError> {
        let text = self.store.get(LATE_QUEUE).await?;
        Ok(text.and_then(|t| unpacked(&t)).unwrap_or_default())
    }

    /// The MessageSids answered late, the newest last.
    async fn late_sids(&self) -> Result<Vec<String>, ObjectError> {
        let text = self.store.get(LATE).await?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Remembers that message `sid` was answered late, forgetting the oldest beyond
    /// [`REMEMBERED`].
    async fn remember_late(&self, sid: &str) -> Result<(), ObjectError> {
        let mut sids = self.late_sids().await?;
        sids.retain(|s| s != sid);
        sids.push(sid.to_string());
        let excess = sids.len().saturating_sub(REMEMBERED);
        sids.drain(..excess);
        Ok(self.store.put(LATE, &json(&sids)?).await?)
    }
}
