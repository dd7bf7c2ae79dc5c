//! The object's own sends (follow-ups, starts): their messages, how far each went, and what
//! they change once settled (feature `objects`); the status callbacks that confirm them are
//! `status.rs`'s.

use super::object::PairObject;
use super::outbox::{Api, Outgoing, Phase, Progress, Why, CONFIRM_AFTER_SECONDS, OUTBOX};
use super::starts::{not_sent, start_key};
use super::storage::{packed, StoredPair};
use super::store::ObjectStore;
use super::window::outside_window;
use crate::object_calls::ObjectError;

use crate::conversation::Template;
use crate::conversation::{push_note, Reply, ReplyMessage, SavedState, Turn};
use crate::record::{Pair, Record};
use crate::seal::TooLarge;
use crate::storage::Store;
use crate::twilio::messages::{self, Form, SendError};

/// Why a send went nowhere when the worker has nothing to authenticate with.
const NO_CREDENTIALS: &str =
    "not sent: no TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET to send with";

/// Stands for the send's name in the status callbacks until [`Outgoing::new`] names it.
const ID_PLACEHOLDER: &str = "{id}";

impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// The Create Message forms of `reply` from our number to the person's: the template
    /// instead of free-form text to a WhatsApp pair outside its window, or `None` when there
    /// is no template to send.
    pub(super) fn forms(
        &self,
        stored: &StoredPair,
        record: &Record,
        reply: &Reply,
    ) -> Option<Vec<Form>> {
        if !outside_window(stored, record, self.now()) {
            return Some(message_forms(stored, reply));
        }
        let configured = self.setup.config.outbound.whatsapp_template.as_ref();
        let template = reply.template().or(configured)?;
        // A template stands for the whole reply: one message.
        Some(vec![form(stored, &Default::default(), Some(template), 0)])
    }

    /// Drives `outgoing` as far as it goes now, keeps what it learnt, and says what happened.
    pub(super) async fn proceed(
        &self,
        stored_pair: &StoredPair,
        mut outgoing: Outgoing,
    ) -> Result<String, ObjectError> {
        let pair = stored_pair.pair();
        let outbound = &self.setup.config.outbound;
        let Some(credentials) = outbound.credentials(pair.account_sid) else {
            return self.no_credentials().await;
        };
        let api = Api {
            http: self.rt.http.as_ref(),
            base_url: &outbound.api_base_url,
            account_sid: pair.account_sid,
            credentials: &credentials,
        };
        let save = async |o: &Outgoing| self.save_before_request(o).await;
        let progress = outgoing.drive(&api, self.now(), save).await;
        self.settle(&pair, outgoing, progress).await
    }

    /// Drops the send: the worker has nothing to authenticate it with.
    async fn no_credentials(&self) -> Result<String, ObjectError> {
        self.store.delete(OUTBOX).await?;
        Err(ObjectError::FollowUp(NO_CREDENTIALS.into()))
    }

    /// Before each request: the send as it stands, and an alarm to find out what became of
    /// it should the object go away before the answer. False when either failed.
    async fn save_before_request(&self, outgoing: &Outgoing) -> bool {
        let Ok(text) = packed(outgoing) else {
            return false;
        };
        let look_at = self.now() + CONFIRM_AFTER_SECONDS;
        self.store.put(OUTBOX, &text).await.is_ok() && self.store.set_alarm(look_at).await.is_ok()
    }

    /// Keeps what a send's progress means: the record once sent, the opt-out a 21610
    /// reveals, the start's answer; the alarm for what is left. Says what happened, for the
    /// log.
    pub(super) async fn settle(
        &self,
        pair: &Pair<'_>,
        outgoing: Outgoing,
        progress: Progress,
    ) -> Result<String, ObjectError> {
        let name = format!("{} {}", kind(&outgoing.why), outgoing.id);
        let result = match progress {
            Progress::Later { at, why, failed } => {
                let line = format!("{name}: {why} at {at}");
                return self.later(&outgoing, at, failed, line).await;
            }
            Progress::Sent => Ok(format!("{name} sent: {}", self.sent(pair, outgoing).await?)),
            Progress::Refused(e) => {
                self.refused(pair, &outgoing.why, &e).await?;
                Err(ObjectError::FollowUp(format!("{name} dropped: {e}")))
            }
            Progress::GaveUp(why) => {
                self.gave_up(&outgoing.why, &why).await?;
                Err(ObjectError::FollowUp(format!("{name} given up: {why}")))
            }
        };
        self.store.delete(OUTBOX).await?;
        self.rearm(None).await?;
        result
    }

    /// A send not finished: kept as it stands, with the alarm for its next step; `line` for
    /// the log, an error when a try failed.
    async fn later(
        &self,
        outgoing: &Outgoing,
        at: u64,
        failed: bool,
        line: String,
    ) -> Result<String, ObjectError> {
        self.save_outgoing(outgoing).await?;
        self.rearm(Some(at)).await?;
        logged(line, failed)
    }

    /// Twilio refused a message (nothing was sent): a 21610 opts the pair out, and a start
    /// answers 502.
    async fn refused(&self, pair: &Pair<'_>, why: &Why, e: &SendError) -> Result<(), ObjectError> {
        if e.code() == Some(messages::OPTED_OUT) {
            self.opt_out(pair).await?;
        }
        self.finish_start(why, not_sent(e)).await
    }

    /// The send was given up, its outcome unknown: a start answers so, never as sent again.
    async fn gave_up(&self, why: &Why, reason: &str) -> Result<(), ObjectError> {
        let key = start_key(why);
        let body =
            serde_json::json!({"status": "unknown", "error": reason, "idempotency_key": key});
        self.finish_start(why, (500, body.to_string())).await
    }

    /// What a send changes once every message went out; the SID of its first message (and
    /// the note of a record too large to keep: the messages went out all the same, so the
    /// send is over, and the record kept before stays).
    async fn sent(&self, pair: &Pair<'_>, outgoing: Outgoing) -> Result<String, ObjectError> {
        let history = self.setup.config.storage.history;
        let sid = outgoing.sids.first().cloned().unwrap_or_default();
        let mut record = self.once_sent(pair, &outgoing.why, outgoing.state).await?;
        track_all(&mut record, &outgoing.sids, self.now());
        // A late reply's turn is the message's own, kept when it was answered.
        if !matches!(outgoing.why, Why::Late { .. }) {
            record.sent(sent_turn(self.now(), &sid, outgoing.reply), history);
        }
        let mut line = sid.clone();
        match self.save_record(pair, &record).await {
            Err(ObjectError::TooLarge(e)) => {
                let mut notes = String::new();
                push_note(&mut notes, TooLarge::NOTE, &e.detail());
                line = format!("{sid}; notes {{{notes}}}");
            }
            other => other?,
        }
        if let Why::Start { .. } = outgoing.why {
            let follow_up = outgoing.follow_up;
            self.started(pair, &outgoing.why, follow_up, record.seq, sid)
                .await?;
        }
        Ok(line)
    }

    /// The pair's record with the state a send left, before its turn joins it.
    async fn once_sent(
        &self,
        pair: &Pair<'_>,
        why: &Why,
        state: SavedState,
    ) -> Result<Record, ObjectError> {
        Ok(match why {
            Why::FollowUp { seq } => {
                let mut record = self.load_kept(pair).await?.unwrap_or_default();
                // A message that came meanwhile moved the conversation on: its state stands.
                if record.seq == *seq {
                    record.state = state;
                }
                record
            }
            // A started conversation is a new one: like a reset, newer than any copy of an
            // older one, with the MessageSid window and the standing kept.
            Why::Start { .. } => restarted(self.load_record(pair).await?, state, self.now()),
            Why::Late { .. } => self.load_kept(pair).await?.unwrap_or_default(),
        })
    }

    /// A start's opening went out as `sid`: the follow-up it asked for is scheduled on the
    /// record at `seq`, and the start's answer kept.
    async fn started(
        &self,
        pair: &Pair<'_>,
        why: &Why,
        follow_up: Option<u64>,
        seq: u64,
        sid: String,
    ) -> Result<(), ObjectError> {
        self.schedule(follow_up, seq).await?;
        let body = serde_json::json!({
            "status": "sent", "sid": (!sid.is_empty()).then_some(sid), "to": pair.from, "from": pair.to,
            "idempotency_key": start_key(why),
        });
        self.finish_start(why, (201, body.to_string())).await
    }

    /// Marks the pair opted out: Twilio said so (21610).
    async fn opt_out(&self, pair: &Pair<'_>) -> Result<(), ObjectError> {
        let mut record = self.load_record(pair).await?.unwrap_or_default();
        if record.opted_out() {
            return Ok(());
        }
        opted_out_at(&mut record, self.now());
        self.save_record(pair, &record).await
    }
}

impl Outgoing {
    /// A new send of `forms`, named at random (its status callbacks name it).
    pub(super) fn new(why: Why, mut forms: Vec<Form>, reply: Reply, state: SavedState) -> Self {
        let id = new_send_id();
        name_callbacks(&mut forms, &id);
        Outgoing {
            id,
            why,
            forms,
            sids: Vec::new(),
            phase: Phase::Ready,
            tries: 0,
            follow_up: reply.follow_up(),
            reply,
            state,
            stale: false,
        }
    }
}

/// A new send's name: 12 random characters (`send` should randomness fail).
fn new_send_id() -> String {
    crate::seal::new_spill_key()
        .map(|k| k.trim_start_matches("spill:").chars().take(12).collect())
        .unwrap_or_else(|| "send".to_string())
}

/// Puts the send's name `id` in its messages' status callbacks.
fn name_callbacks(forms: &mut [Form], id: &str) {
    let fields = forms.iter_mut().flat_map(|form| form.iter_mut());
    for (_, value) in fields.filter(|(name, _)| name == "StatusCallback") {
        *value = value.replace(ID_PLACEHOLDER, id);
    }
}

/// Message `i` of a send from our number to the person's, with its status callback when the
/// worker's origin is known.
fn form(
    stored: &StoredPair,
    message: &ReplyMessage,
    template: Option<&Template>,
    i: usize,
) -> Form {
    let callback = status_callback(stored, i);
    messages::form(
        &stored.from,
        &stored.to,
        message,
        template,
        callback.as_deref(),
    )
}

/// Message `i`'s status callback URL, when the worker's origin is known (the send's name is
/// filled in once it has one).
fn status_callback(stored: &StoredPair, i: usize) -> Option<String> {
    (!stored.origin.is_empty())
        .then(|| format!("{}/sms/status?o={ID_PLACEHOLDER}.{i}", stored.origin))
}

/// A reply's messages as forms, one each, when no template stands for them.
fn message_forms(stored: &StoredPair, reply: &Reply) -> Vec<Form> {
    (reply.messages().iter().enumerate())
        .map(|(i, m)| form(stored, m, None, i))
        .collect()
}

/// What a send is, for the log.
fn kind(why: &Why) -> &'static str {
    match why {
        Why::FollowUp { .. } => "follow-up",
        Why::Start { .. } => "start",
        Why::Late { .. } => "late reply",
    }
}

/// A send's `line` for the log: an error when a try failed.
fn logged(line: String, failed: bool) -> Result<String, ObjectError> {
    if failed {
        Err(ObjectError::FollowUp(line))
    } else {
        Ok(line)
    }
}

/// The pair opted out at `now`: a new copy of the conversation, newer than what was asked
/// before it.
pub(super) fn opted_out_at(record: &mut Record, now: u64) {
    record.standing.opted_out = Some(now);
    record.seq = record.seq.saturating_add(1);
}

/// Every message of a send joins the deliveries the record tracks.
fn track_all(record: &mut Record, sids: &[String], now: u64) {
    for sid in sids {
        record.standing.track(sid, now);
    }
}

/// A started conversation's record: the `previous` one reset (its MessageSid window and
/// standing kept), or a new one, with the state the opening left.
fn restarted(previous: Option<Record>, state: SavedState, now: u64) -> Record {
    let reset = previous.map(|r| r.reset("", Reply::none(), now));
    let mut record = reset.unwrap_or_default();
    record.state = state;
    record
}

/// A message we sent on our own, as a turn: no inbound text, our Message SID.
fn sent_turn(now: u64, sid: &str, reply: Reply) -> Turn {
    Turn {
        at: now,
        message_sid: sid.to_string(),
        inbound: String::new(),
        reply,
    }
}
