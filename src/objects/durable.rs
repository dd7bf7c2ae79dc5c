//! The object's side (feature `objects`): see the parent module.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use serde::{Deserialize, Serialize};

#[cfg(feature = "state-api")]
use super::calls::StateCall;
use super::calls::{ObjectAnswer, ObjectError, StartCall, StatusCall, WebhookCall};
use super::outbox::{Api, Outgoing, Phase, Progress, Why, OUTBOX};

use crate::app::{self, Intent, Runtime, Setup};
use crate::conversation::{AfterReply, Context, Reply, SavedState, Start, Turn};
use crate::record::{Pair, Record};
use crate::seal::{Opened, Place, Purpose};
#[cfg(feature = "state-api")]
use crate::storage::Source;
use crate::storage::{Change, Store, StoreError};
use crate::twilio::messages::{self, SendError, Template};
use crate::twilio::segments::as_configured;

pub use super::outbox::{CONFIRM_AFTER_SECONDS, MAX_CHECKS, MAX_SEND_ATTEMPTS, RETRY_BASE_SECONDS};

/// The object's keys in its storage.
const RECORD: &str = "record";
const PAIR: &str = "pair";
const FOLLOW_UP: &str = "follow_up";
/// The answers to recent starts, by idempotency key.
const STARTS: &str = "starts";

/// How long a start's answer is kept for a repeat with its idempotency key.
pub const START_KEY_SECONDS: u64 = 24 * 60 * 60;
/// At most this many starts' answers are kept.
const MAX_STARTS_KEPT: usize = 50;
/// WhatsApp's customer-service window: free-form messages only this long after the person's
/// last message.
pub const WHATSAPP_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// The object's own storage and alarm (a map in tests).
#[allow(async_fn_in_trait)] // One thread per isolate: the futures need not be `Send`.
pub trait ObjectStore {
    /// The value under `key`.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`.
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Wakes the object's alarm at `at` (Unix seconds), replacing any alarm set before.
    async fn set_alarm(&self, at: u64) -> Result<(), StoreError>;
    /// Cancels the alarm.
    async fn delete_alarm(&self) -> Result<(), StoreError>;
}

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

#[derive(Serialize, Deserialize)]
struct StoredPair {
    account_sid: String,
    to: String,
    from: String,
    /// The worker's public origin, for status callbacks (empty: none known).
    #[serde(default)]
    origin: String,
}

impl StoredPair {
    fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: &self.account_sid,
            to: &self.to,
            from: &self.from,
        }
    }
}

/// One message at a time: requests to an object interleave wherever one awaits outside
/// the object's storage (a conversation calling out, a Messages API send), so each webhook
/// holds this turnstile from loading the record to saving it.
#[derive(Default)]
pub struct Turnstile {
    busy: Cell<bool>,
    waiting: RefCell<VecDeque<Rc<Cell<Option<Waker>>>>>,
}

impl Turnstile {
    /// Waits for the turn, in arrival order.
    pub async fn enter(&self) -> TurnGuard<'_> {
        if self.busy.replace(true) {
            let slot = Rc::new(Cell::new(None));
            self.waiting.borrow_mut().push_back(Rc::clone(&slot));
            WaitTurn { slot, done: false }.await;
        }
        TurnGuard { turnstile: self }
    }
}

struct WaitTurn {
    slot: Rc<Cell<Option<Waker>>>,
    done: bool,
}

impl Future for WaitTurn {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        // The slot is emptied (taken) when the turn is handed over.
        if self.done || Rc::strong_count(&self.slot) == 1 {
            self.done = true;
            return Poll::Ready(());
        }
        self.slot.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

/// Holds the turn; the next waiter goes on when it is dropped.
pub struct TurnGuard<'a> {
    turnstile: &'a Turnstile,
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        let next = self.turnstile.waiting.borrow_mut().pop_front();
        match next {
            // The turn passes straight on: `busy` stays set.
            Some(slot) => {
                let waker = slot.take();
                drop(slot);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            None => self.turnstile.busy.set(false),
        }
    }
}

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
async fn answered_start<S: Store, O: ObjectStore>(
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
async fn stale_follow_up<O: ObjectStore>(
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

/// Why a message to a WhatsApp pair outside its window went nowhere.
const OUTSIDE_WINDOW: &str = "more than 24 hours since the person's last WhatsApp message, and no template (Reply::with_template or WHATSAPP_TEMPLATE_SID) to send instead";

/// The Create Message forms of `reply` from our number to the person's: the template
/// instead of free-form text to a WhatsApp pair outside its window, or `None` when there is
/// no template to send.
fn forms(
    setup: &Setup,
    stored: &StoredPair,
    record: &Record,
    reply: &Reply,
    now: u64,
) -> Option<Vec<messages::Form>> {
    let whatsapp = stored.from.starts_with("whatsapp:");
    let outside = whatsapp
        && record
            .standing
            .last_inbound
            .saturating_add(WHATSAPP_WINDOW_SECONDS)
            <= now;
    let template: Option<&Template> = if outside {
        Some(
            reply
                .template()
                .or(setup.config.outbound.whatsapp_template.as_ref())?,
        )
    } else {
        None
    };
    let id_placeholder = "{id}";
    let callback = |i: usize| {
        (!stored.origin.is_empty())
            .then(|| format!("{}/sms/status?o={id_placeholder}.{i}", stored.origin))
    };
    let messages: Vec<_> = match template {
        // A template stands for the whole reply: one message.
        Some(t) => vec![messages::form(
            &stored.from,
            &stored.to,
            &Default::default(),
            Some(t),
            callback(0).as_deref(),
        )],
        None => reply
            .messages()
            .iter()
            .enumerate()
            .map(|(i, m)| messages::form(&stored.from, &stored.to, m, None, callback(i).as_deref()))
            .collect(),
    };
    Some(messages)
}

impl Outgoing {
    /// A new send of `forms`, named at random (its status callbacks name it).
    fn new(why: Why, mut forms: Vec<messages::Form>, reply: Reply, state: SavedState) -> Self {
        let id = crate::seal::new_spill_key()
            .map(|k| k.trim_start_matches("spill:").chars().take(12).collect())
            .unwrap_or_else(|| "send".to_string());
        for form in &mut forms {
            for (name, value) in form.iter_mut() {
                if name == "StatusCallback" {
                    *value = value.replace("{id}", &id);
                }
            }
        }
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

/// Drives `outgoing` as far as it goes now, keeps what it learnt, and says what happened.
async fn proceed<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    stored_pair: &StoredPair,
    mut outgoing: Outgoing,
) -> Result<String, ObjectError> {
    let pair = stored_pair.pair();
    let outbound = &setup.config.outbound;
    let Some(credentials) = outbound.credentials(pair.account_sid) else {
        store.delete(OUTBOX).await?;
        return Err(ObjectError::FollowUp(
            "not sent: no TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET to send with"
                .into(),
        ));
    };
    let api = Api {
        http: rt.http.as_ref(),
        base_url: &outbound.api_base_url,
        account_sid: pair.account_sid,
        credentials: &credentials,
    };
    // Before each request: the send as it stands, and an alarm to find out what became of
    // it should the object go away before the answer.
    let save = async |o: &Outgoing| {
        let Ok(text) = packed(o) else {
            return false;
        };
        store.put(OUTBOX, &text).await.is_ok()
            && store
                .set_alarm(rt.now + super::outbox::CONFIRM_AFTER_SECONDS)
                .await
                .is_ok()
    };
    let progress = outgoing.drive(&api, rt.now, save).await;
    settle(setup, store, rt, &pair, outgoing, progress).await
}

/// Keeps what a send's progress means: the record once sent, the opt-out a 21610 reveals,
/// the start's answer; the alarm for what is left. Says what happened, for the log.
async fn settle<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    pair: &Pair<'_>,
    outgoing: Outgoing,
    progress: Progress,
) -> Result<String, ObjectError> {
    let what = match &outgoing.why {
        Why::FollowUp { .. } => "follow-up",
        Why::Start { .. } => "start",
    };
    let id = outgoing.id.clone();
    let result = match progress {
        Progress::Later { at, why, failed } => {
            store.put(OUTBOX, &packed(&outgoing)?).await?;
            rearm(store, Some(at)).await?;
            let line = format!("{what} {id}: {why} at {at}");
            return if failed {
                Err(ObjectError::FollowUp(line))
            } else {
                Ok(line)
            };
        }
        Progress::Sent => {
            let sid = outgoing.sids.first().cloned().unwrap_or_default();
            sent(setup, store, rt, pair, outgoing).await?;
            Ok(format!("{what} {id} sent: {sid}"))
        }
        Progress::Refused(e) => {
            if e.code() == Some(messages::OPTED_OUT) {
                opt_out(setup, store, pair, rt.now).await?;
            }
            finish_start(store, &outgoing.why, not_sent(&e), rt.now).await?;
            Err(ObjectError::FollowUp(format!("{what} {id} dropped: {e}")))
        }
        Progress::GaveUp(why) => {
            let body = serde_json::json!({"status": "unknown", "error": why, "idempotency_key": start_key(&outgoing.why)});
            finish_start(store, &outgoing.why, (500, body.to_string()), rt.now).await?;
            Err(ObjectError::FollowUp(format!(
                "{what} {id} given up: {why}"
            )))
        }
    };
    store.delete(OUTBOX).await?;
    rearm(store, None).await?;
    result
}

/// What a send changes once every message went out.
async fn sent<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    pair: &Pair<'_>,
    outgoing: Outgoing,
) -> Result<(), ObjectError> {
    let history = setup.config.storage.history;
    let previous = match outgoing.why {
        Why::FollowUp { .. } => load_kept(setup, store, pair, rt.now).await?,
        Why::Start { .. } => load_record(setup, store, pair, rt.now).await?,
    };
    let sid = outgoing.sids.first().cloned().unwrap_or_default();
    let mut record = match &outgoing.why {
        Why::FollowUp { seq } => {
            let mut record = previous.unwrap_or_default();
            // A message that came meanwhile moved the conversation on: its state stands.
            if record.seq == *seq {
                record.state = outgoing.state;
            }
            record
        }
        // A started conversation is a new one: like a reset, newer than any copy of an older
        // one, with the MessageSid window and the standing kept.
        Why::Start { .. } => {
            let mut record = previous
                .map(|r| r.reset("", Reply::none(), rt.now))
                .unwrap_or_default();
            record.state = outgoing.state;
            record
        }
    };
    for sid in &outgoing.sids {
        record.standing.track(sid, rt.now);
    }
    record.sent(sent_turn(rt.now, &sid, outgoing.reply), history);
    save_record(setup, store, pair, &record, rt.now).await?;
    if let Why::Start { .. } = outgoing.why {
        schedule(store, outgoing.follow_up, record.seq, rt.now).await?;
        let body = serde_json::json!({
            "status": "sent", "sid": (!sid.is_empty()).then_some(sid), "to": pair.from, "from": pair.to,
            "idempotency_key": start_key(&outgoing.why),
        });
        finish_start(store, &outgoing.why, (201, body.to_string()), rt.now).await?;
    }
    Ok(())
}

/// Marks the pair opted out: Twilio said so (21610).
async fn opt_out<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    now: u64,
) -> Result<(), ObjectError> {
    let mut record = load_record(setup, store, pair, now)
        .await?
        .unwrap_or_default();
    if record.opted_out() {
        return Ok(());
    }
    record.standing.opted_out = Some(now);
    record.seq = record.seq.saturating_add(1);
    save_record(setup, store, pair, &record, now).await
}

/// A verified status callback for one of our sends: the delivery status joins the record,
/// and a send unsure whether Twilio took the message learns that it did.
pub async fn status<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StatusCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<String, ObjectError> {
    let Some(stored_pair) = load_pair(store).await? else {
        return Ok("no conversation for this status".into());
    };
    let pair = stored_pair.pair();
    let mut confirmed = false;
    if let (Some(mut outgoing), Some(send)) = (load_outgoing(store).await?, call.send.as_deref()) {
        if outgoing.confirm(send, &call.message_sid) {
            confirmed = true;
            store.put(OUTBOX, &packed(&outgoing)?).await?;
            // The rest of the send goes on in the alarm, at once.
            rearm(store, Some(rt.now)).await?;
        }
    }
    let mut note = if confirmed { "confirmed a send; " } else { "" }.to_string();
    if let Some(mut record) = load_record(setup, store, &pair, rt.now).await? {
        if !confirmed
            && !record
                .standing
                .deliveries
                .iter()
                .any(|d| d.sid == call.message_sid)
        {
            note.push_str("not one of the object's sends");
            return Ok(note);
        }
        record.standing.track(&call.message_sid, rt.now);
        if record
            .standing
            .update(&call.message_sid, &call.status, call.error_code, rt.now)
        {
            // A delivery status is no new copy of the conversation (the object's record is
            // the one that counts): the sequence stays, so a follow-up asked for still fits.
            // An opt-out is: it cancels what was asked before it.
            if call.error_code == Some(messages::OPTED_OUT) && !record.opted_out() {
                record.standing.opted_out = Some(rt.now);
                record.seq = record.seq.saturating_add(1);
            }
            save_record(setup, store, &pair, &record, rt.now).await?;
        }
    }
    note.push_str(&format!("status {}", call.status));
    Ok(note)
}

/// A call of the state API: the record the object keeps, read, ended or corrected. A change
/// cancels a follow-up asked for before it (its sequence no longer matches).
#[cfg(feature = "state-api")]
pub async fn state<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StateCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<(u16, String), ObjectError> {
    let conversation = setup.conversation.as_ref();
    let Some(stored_pair) = load_pair(store).await? else {
        let nobody = Pair {
            account_sid: "",
            to: "",
            from: "",
        };
        let (status, body, _) = crate::admin::apply(
            &call.op,
            &nobody,
            None,
            Source::Object,
            conversation,
            rt.now,
        );
        return Ok((status, body));
    };
    let pair = stored_pair.pair();
    let record = load_record(setup, store, &pair, rt.now).await?;
    let (status, body, changed) = crate::admin::apply(
        &call.op,
        &pair,
        record,
        Source::Object,
        conversation,
        rt.now,
    );
    if let Some(changed) = changed {
        save_record(setup, store, &pair, &changed, rt.now).await?;
        if call.op == crate::admin::StateOp::Reset {
            schedule(store, None, changed.seq, rt.now).await?;
        }
    }
    Ok((status, body))
}

/// Whether the alarm has a follow-up to send now.
enum Due {
    /// Yes: what was asked for, the pair, and its record as the follow-up found it.
    Now(PendingFollowUp, StoredPair, Box<Record>),
    /// No, and why (for the log); any pending follow-up that will never be due is gone.
    Not(&'static str),
}

/// The pending follow-up, when it is due now; one no longer wanted is deleted, one not yet
/// due sets the alarm again.
async fn due_follow_up<O: ObjectStore>(
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
async fn drop_follow_up<O: ObjectStore>(store: &O, why: &'static str) -> Result<Due, ObjectError> {
    store.delete(FOLLOW_UP).await?;
    Ok(Due::Not(why))
}

/// A start's answer, kept for a repeat with its idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StartAnswer {
    status: u16,
    body: String,
    at: u64,
}

/// The idempotency key of a start.
fn start_key(why: &Why) -> Option<&str> {
    match why {
        Why::Start { key } => Some(key),
        Why::FollowUp { .. } => None,
    }
}

async fn load_starts<O: ObjectStore>(
    store: &O,
) -> Result<BTreeMap<String, StartAnswer>, ObjectError> {
    Ok(match store.get(STARTS).await? {
        Some(text) => unpacked(&text).unwrap_or_default(),
        None => BTreeMap::new(),
    })
}

/// Keeps `answer` as the answer to the start `why` names (nothing for a follow-up), dropping
/// answers older than [`START_KEY_SECONDS`].
async fn finish_start<O: ObjectStore>(
    store: &O,
    why: &Why,
    answer: (u16, String),
    now: u64,
) -> Result<(), ObjectError> {
    let Some(key) = start_key(why) else {
        return Ok(());
    };
    let mut starts = load_starts(store).await?;
    starts.retain(|_, a| a.at.saturating_add(START_KEY_SECONDS) > now);
    while starts.len() >= MAX_STARTS_KEPT {
        let oldest = starts
            .iter()
            .min_by_key(|(_, a)| a.at)
            .map(|(k, _)| k.clone());
        let Some(oldest) = oldest else { break };
        starts.remove(&oldest);
    }
    let (status, body) = answer;
    starts.insert(
        key.to_string(),
        StartAnswer {
            status,
            body,
            at: now,
        },
    );
    Ok(store.put(STARTS, &packed(&starts)?).await?)
}

/// Starts a conversation from our side: the conversation's opening message goes out through
/// the Messages API and the object keeps the state, so the person's reply (which comes with
/// no cookie) continues it. Answers the status and JSON body of `POST /conversations`.
pub async fn start<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StartCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<(u16, String), ObjectError> {
    let fields = match serde_json::from_str::<serde_json::Value>(&call.json) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Ok(problem(400, "the body must be a JSON object")),
    };
    let key = call.idempotency_key.clone();
    if let Some(answer) = load_starts(store).await?.get(&key) {
        return Ok((answer.status, answer.body.clone()));
    }
    if let Some(outgoing) = load_outgoing(store).await? {
        if start_key(&outgoing.why) == Some(key.as_str()) {
            return repeat_pending(setup, call, store, rt, outgoing).await;
        }
    }
    // The person's reply will come To our number From theirs.
    let stored_pair = StoredPair {
        account_sid: call.account_sid.clone(),
        to: call.from.clone(),
        from: call.to.clone(),
        origin: call.origin.clone(),
    };
    let pair = stored_pair.pair();
    let previous = load_record(setup, store, &pair, rt.now).await?;
    let replace = fields.get("replace") == Some(&serde_json::Value::Bool(true));
    if let Some(refusal) = refuse_start(store, previous.as_ref(), replace).await? {
        return Ok(refusal);
    }
    let start = Start {
        to: call.to.clone(),
        from: call.from.clone(),
        fields,
    };
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now)
        .for_message(&call.account_sid, &format!("start:{key}"));
    let (reply, state) = match opening(setup, &start, &ctx).await {
        Ok(opening) => opening,
        Err(refusal) => return Ok(refusal),
    };
    let record = previous.unwrap_or_default();
    let Some(forms) = forms(setup, &stored_pair, &record, &reply, rt.now) else {
        return Ok(problem(422, OUTSIDE_WINDOW));
    };
    save_pair(store, &pair, &call.origin).await?;
    let why = Why::Start { key: key.clone() };
    let outgoing = Outgoing::new(why, forms, reply, state);
    let what = proceed(setup, store, rt, &stored_pair, outgoing).await;
    answer_start(store, call, what).await
}

/// A start repeated while its send is still on its way: it goes on if it is due, and the
/// answer is where it got to.
async fn repeat_pending<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StartCall,
    store: &O,
    rt: &Runtime<'_, S>,
    outgoing: Outgoing,
) -> Result<(u16, String), ObjectError> {
    let what = match load_pair(store).await? {
        Some(stored_pair) if outgoing.wake_at() <= rt.now => {
            proceed(setup, store, rt, &stored_pair, outgoing).await
        }
        _ => Ok(format!("send {}: still confirming", outgoing.id)),
    };
    answer_start(store, call, what).await
}

/// The answer to a start once its send went as far as it could: the result kept under its
/// key, or `202` while it is still on its way.
async fn answer_start<O: ObjectStore>(
    store: &O,
    call: &StartCall,
    what: Result<String, ObjectError>,
) -> Result<(u16, String), ObjectError> {
    let key = &call.idempotency_key;
    if let Some(answer) = load_starts(store).await?.get(key) {
        return Ok((answer.status, answer.body.clone()));
    }
    // Still on its way: Twilio's answer was lost or asked us to wait.
    let body = serde_json::json!({
        "status": "pending",
        "idempotency_key": key,
        "to": call.to,
        "from": call.from,
        "detail": match what { Ok(w) => w, Err(e) => e.to_string() },
        "next": "The worker finds out whether Twilio took the message before it sends anything again. Repeat this request with the same Idempotency-Key to learn the result: it never sends twice.",
    });
    Ok((202, body.to_string()))
}

/// Why a start cannot go ahead for this pair now, as its answer: the person opted out, a
/// send is still on its way, or a conversation is in progress and `replace` was not asked.
async fn refuse_start<O: ObjectStore>(
    store: &O,
    previous: Option<&Record>,
    replace: bool,
) -> Result<Option<(u16, String)>, ObjectError> {
    if previous.is_some_and(Record::opted_out) {
        return Ok(Some(problem(
            409,
            "the person opted out (STOP): nothing is sent until they text START",
        )));
    }
    if let Some(outgoing) = load_outgoing(store).await? {
        let body = serde_json::json!({
            "error": "a message to this person is still being sent",
            "send": outgoing.id,
        });
        return Ok(Some((409, body.to_string())));
    }
    match previous {
        Some(record) if record.in_progress() && !replace => {
            let body = serde_json::json!({
                "error": "a conversation with this person is in progress: send \"replace\": true to start over",
                "conversation": {"count": record.count, "last_seen": record.last_seen, "turns": record.turns.len()},
            });
            Ok(Some((409, body.to_string())))
        }
        _ => Ok(None),
    }
}

/// The conversation's opening message and the state it leaves; or the answer (status and
/// JSON body) refusing the start.
async fn opening(
    setup: &Setup,
    start: &Start,
    ctx: &Context<'_>,
) -> Result<(Reply, SavedState), (u16, String)> {
    let mut state = SavedState::default();
    let ran = setup.conversation.start(start, &mut state, ctx).await;
    match (ran.answer, ran.state_error) {
        // Nothing is sent that the object could not continue.
        (Ok(_), Some(e)) => Err(problem(500, &e.to_string())),
        (Ok(reply), None) if !reply.is_empty() => {
            Ok((as_configured(reply, setup.config.smart_encoding), state))
        }
        (Ok(_), None) => Err(problem(400, "the conversation has no opening message")),
        (Err(why), _) => Err(problem(400, &why)),
    }
}

/// The answer to a start whose opening message Twilio refused: a 502 with Twilio's status
/// and code (nothing was sent).
fn not_sent(e: &SendError) -> (u16, String) {
    let body = match e {
        SendError::Refused { status, code, .. } => {
            serde_json::json!({"status": "refused", "error": e.to_string(), "twilio_status": status, "code": code})
        }
        e => serde_json::json!({"status": "refused", "error": e.to_string()}),
    };
    (502, body.to_string())
}

/// Sets the alarm for a follow-up asked `after` seconds from `now` on the record at `seq`,
/// or cancels a pending one (only a pending one costs a write to cancel: reads are cheaper).
async fn schedule<O: ObjectStore>(
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
async fn rearm<O: ObjectStore>(store: &O, at: Option<u64>) -> Result<(), ObjectError> {
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

/// A message we sent on our own, as a turn: no inbound text, our Message SID.
fn sent_turn(now: u64, sid: &str, reply: Reply) -> Turn {
    Turn {
        at: now,
        message_sid: sid.to_string(),
        inbound: String::new(),
        reply,
    }
}

/// When a follow-up asked for `after` seconds at `now` is due. `now` is whole seconds,
/// rounded down, so one more second keeps the wait from ever being shorter than asked.
fn due_after(now: u64, after: u64) -> u64 {
    now.saturating_add(after).saturating_add(1)
}

async fn load_outgoing<O: ObjectStore>(store: &O) -> Result<Option<Outgoing>, ObjectError> {
    match store.get(OUTBOX).await? {
        Some(text) => Ok(unpacked(&text)),
        None => Ok(None),
    }
}

async fn load_pair<O: ObjectStore>(store: &O) -> Result<Option<StoredPair>, ObjectError> {
    match store.get(PAIR).await? {
        Some(text) => Ok(Some(serde_json::from_str(&text)?)),
        None => Ok(None),
    }
}

/// The pair's record as a new message or start finds it: a conversation idle past
/// `CONVERSATION_TTL_SECONDS` has ended, as its cookie would have.
async fn load_record<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    now: u64,
) -> Result<Option<Record>, ObjectError> {
    let ttl = setup.config.storage.cookie_ttl_seconds;
    Ok(load_kept(setup, store, pair, now)
        .await?
        .map(|record| record.idle_ended(ttl, now)))
}

/// The pair's record as the object keeps it: what a follow-up the conversation asked for
/// runs on, however long it waited (sending it makes the conversation active again).
async fn load_kept<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    now: u64,
) -> Result<Option<Record>, ObjectError> {
    let Some(sealed) = store.get(RECORD).await? else {
        return Ok(None);
    };
    let storage = &setup.config.storage;
    Ok(match storage.keys.open(&sealed, Place::Object, pair, now) {
        Ok(Opened::Record(record)) => Some(record),
        // Sealed under a key no longer configured, or expired: start from the cookie.
        _ => None,
    })
}

async fn save_record<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    record: &Record,
    now: u64,
) -> Result<(), ObjectError> {
    let s = &setup.config.storage;
    let sealed = s
        .keys
        .seal(
            record,
            Purpose::Object,
            pair,
            now + s.kv_ttl_seconds,
            s.encrypt,
        )
        .map_err(ObjectError::Seal)?;
    Ok(store.put(RECORD, &sealed).await?)
}

/// The alarm has no request to learn the pair from; it never changes for an object. The
/// origin comes with each call, for status callbacks.
async fn save_pair<O: ObjectStore>(
    store: &O,
    pair: &Pair<'_>,
    origin: &str,
) -> Result<(), ObjectError> {
    let stored_pair = StoredPair {
        account_sid: pair.account_sid.to_string(),
        to: pair.to.to_string(),
        from: pair.from.to_string(),
        origin: origin.to_string(),
    };
    Ok(store.put(PAIR, &json(&stored_pair)?).await?)
}

/// What the object stores beside the record (the pair, a pending follow-up), as JSON.
fn json(value: &impl Serialize) -> Result<String, ObjectError> {
    Ok(serde_json::to_string(value)?)
}

/// The send in flight and the starts' answers, as postcard in base64url: they live minutes
/// to a day, and postcard's reader for them is a fraction of serde_json's in the wasm
/// (the reader of a struct in JSON matches every field by name).
fn packed(value: &impl Serialize) -> Result<String, ObjectError> {
    postcard::to_allocvec(value)
        .map(|bytes| crate::b64::url(&bytes))
        .map_err(|e| ObjectError::BadJson(e.to_string()))
}

/// The value [`packed`] stored; `None` for one that does not read (another version's).
fn unpacked<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    postcard::from_bytes(&crate::b64::from_url(text)?).ok()
}

fn problem(status: u16, why: &str) -> (u16, String) {
    (status, serde_json::json!({ "error": why }).to_string())
}
