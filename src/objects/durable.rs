//! The object's side (feature `objects`): see the parent module.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use serde::{Deserialize, Serialize};

use super::calls::{ObjectAnswer, ObjectError, StartCall, WebhookCall};

use crate::app::{self, Intent, Runtime, Setup};
use crate::conversation::{AfterReply, Context, Reply, SavedState, Start, Turn};
use crate::record::{Pair, Record};
use crate::seal::{Opened, Place, Purpose};
use crate::storage::{Change, Store, StoreError};
use crate::twilio::messages::{self, SendError};

/// The object's keys in its storage.
const RECORD: &str = "record";
const PAIR: &str = "pair";
const FOLLOW_UP: &str = "follow_up";

/// A follow-up that Twilio's API could not take (5xx, 429, no answer) is tried this many
/// times in all, the alarm waiting [`RETRY_BASE_SECONDS`] × 2ⁿ between tries.
pub const MAX_SEND_ATTEMPTS: u32 = 4;
/// The first wait before a follow-up is tried again.
pub const RETRY_BASE_SECONDS: u64 = 10;

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
        save_record(setup, store, &pair, &done.record, rt.now, first).await?;
        // A newer message replaces or cancels the follow-up asked for before.
        schedule(store, done.follow_up, done.record.seq, rt.now).await?;
    }
    // The conversation's after-reply work goes to the object's `wait_until`: it must not
    // hold the answer.
    Ok((ObjectAnswer::from_handled(&handled), handled.after_reply))
}

/// The object's alarm: sends the follow-up a reply asked for, unless a newer message came.
/// Returns what happened, for the log.
pub async fn alarm<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<String, ObjectError> {
    let (mut pending, stored_pair, mut record) = match due_follow_up(setup, store, rt.now).await? {
        Due::Now(pending, stored_pair, record) => (pending, stored_pair, *record),
        Due::Not(why) => return Ok(why.into()),
    };
    let pair = stored_pair.pair();
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now);
    let mut state = record.state.clone();
    let ran = setup
        .conversation
        .follow_up(record.view(), &mut state, &ctx)
        .await;
    let reply = ran.answer;
    if reply.is_empty() {
        store.delete(FOLLOW_UP).await?;
        return Ok("the conversation had nothing to say".into());
    }
    match send(setup, &pair, pair.from, pair.to, &reply, rt).await {
        Ok(sid) => {
            record.state = state;
            record.sent(sent_turn(rt.now, &sid, reply), setup.config.storage.history);
            save_record(setup, store, &pair, &record, rt.now, false).await?;
            store.delete(FOLLOW_UP).await?;
            Ok(match ran.state_error {
                None => format!("follow-up sent: {sid}"),
                Some(e) => format!("follow-up sent: {sid}; {e}"),
            })
        }
        Err(e) if e.is_transient() && pending.attempt + 1 < MAX_SEND_ATTEMPTS => {
            pending.attempt += 1;
            let at = rt.now + RETRY_BASE_SECONDS * (1 << (pending.attempt - 1));
            store.put(FOLLOW_UP, &json(&pending)?).await?;
            store.set_alarm(at).await?;
            Err(ObjectError::FollowUp(format!(
                "follow-up not sent, trying again at {at}: {e}"
            )))
        }
        Err(e) => {
            store.delete(FOLLOW_UP).await?;
            Err(ObjectError::FollowUp(format!("follow-up dropped: {e}")))
        }
    }
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
    let Some(stored_pair) = store.get(PAIR).await? else {
        return drop_follow_up(store, "no pair").await;
    };
    let stored_pair: StoredPair = serde_json::from_str(&stored_pair)?;
    let Some(record) = load_record(setup, store, &stored_pair.pair(), now).await? else {
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
    // The person's reply will come To our number From theirs.
    let pair = Pair {
        account_sid: &call.account_sid,
        to: &call.from,
        from: &call.to,
    };
    let start = Start {
        to: call.to.clone(),
        from: call.from.clone(),
        fields,
    };
    let previous = load_record(setup, store, &pair, rt.now).await?;
    let ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now);
    let (reply, state) = match opening(setup, &start, &ctx).await {
        Ok(opening) => opening,
        Err(refusal) => return Ok(refusal),
    };
    let sid = match send(setup, &pair, &call.to, &call.from, &reply, rt).await {
        Ok(sid) => sid,
        Err(e) => return Ok(not_sent(e)),
    };
    // A started conversation is a new one, newer than any copy of an older one.
    let mut record = Record {
        seq: previous.map_or(0, |r| r.seq),
        state,
        ..Record::default()
    };
    let follow_up = reply.follow_up();
    record.sent(sent_turn(rt.now, &sid, reply), setup.config.storage.history);
    save_record(setup, store, &pair, &record, rt.now, true).await?;
    schedule(store, follow_up, record.seq, rt.now).await?;
    let body = serde_json::json!({"sid": sid, "to": call.to, "from": call.from});
    Ok((201, body.to_string()))
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
        (Ok(reply), None) if !reply.is_empty() => Ok((reply, state)),
        (Ok(_), None) => Err(problem(400, "the conversation has no opening message")),
        (Err(why), _) => Err(problem(400, &why)),
    }
}

/// The answer to a start whose opening message Twilio did not take: a 502, with Twilio's
/// status and code when it refused.
fn not_sent(e: SendError) -> (u16, String) {
    match e {
        SendError::Refused {
            status,
            code,
            message,
        } => {
            let body = serde_json::json!({"error": message, "twilio_status": status, "code": code});
            (502, body.to_string())
        }
        e => problem(502, &e.to_string()),
    }
}

/// Sends each message of `reply` from `from` to `to`; the SID of the first.
async fn send<S: Store>(
    setup: &Setup,
    pair: &Pair<'_>,
    to: &str,
    from: &str,
    reply: &Reply,
    rt: &Runtime<'_, S>,
) -> Result<String, SendError> {
    let outbound = &setup.config.outbound;
    let Some(credentials) = outbound.credentials(pair.account_sid) else {
        return Err(SendError::Refused {
            status: 401,
            code: None,
            message:
                "no TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET to send with"
                    .into(),
        });
    };
    let mut first = None;
    for message in reply.messages() {
        let sid = messages::send(
            rt.http.as_ref(),
            &outbound.api_base_url,
            pair.account_sid,
            &credentials,
            to,
            from,
            message,
        )
        .await?;
        first.get_or_insert(sid);
    }
    Ok(first.unwrap_or_default())
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
            Ok(store.set_alarm(pending.due).await?)
        }
        None if store.get(FOLLOW_UP).await?.is_some() => {
            store.delete(FOLLOW_UP).await?;
            Ok(store.delete_alarm().await?)
        }
        None => Ok(()),
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

async fn load_record<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    now: u64,
) -> Result<Option<Record>, ObjectError> {
    let Some(sealed) = store.get(RECORD).await? else {
        return Ok(None);
    };
    Ok(
        match setup
            .config
            .storage
            .keys
            .open(&sealed, Place::Object, pair, now)
        {
            Ok(Opened::Record(record)) => Some(record),
            // Sealed under a key no longer configured, or expired: start from the cookie.
            _ => None,
        },
    )
}

async fn save_record<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    record: &Record,
    now: u64,
    first: bool,
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
    store.put(RECORD, &sealed).await?;
    if !first {
        return Ok(());
    }
    // The alarm has no request to learn the pair from; it never changes for an object.
    let stored_pair = StoredPair {
        account_sid: pair.account_sid.to_string(),
        to: pair.to.to_string(),
        from: pair.from.to_string(),
    };
    Ok(store.put(PAIR, &json(&stored_pair)?).await?)
}

/// What the object stores beside the record (the pair, a pending follow-up), as JSON.
fn json(value: &impl Serialize) -> Result<String, ObjectError> {
    Ok(serde_json::to_string(value)?)
}

fn problem(status: u16, why: &str) -> (u16, String) {
    (status, serde_json::json!({ "error": why }).to_string())
}

/// An object's storage and alarm in memory, for native tests.
#[derive(Debug, Default)]
pub struct MapObjectStore {
    entries: RefCell<BTreeMap<String, String>>,
    alarm: Cell<Option<u64>>,
    failing: Cell<bool>,
}

impl MapObjectStore {
    /// The alarm's time, when one is set.
    pub fn alarm_at(&self) -> Option<u64> {
        self.alarm.get()
    }

    /// The alarm fired: it is no longer set (as Workers does before calling `alarm()`).
    pub fn clear_alarm(&self) {
        self.alarm.set(None);
    }

    /// Makes every call fail (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// The keys stored.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.get() {
            return Err(StoreError::Failed(
                "object storage is failing (test)".into(),
            ));
        }
        Ok(())
    }
}

impl ObjectStore for MapObjectStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check()?;
        Ok(self.entries.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.check()?;
        self.entries.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
    async fn set_alarm(&self, at: u64) -> Result<(), StoreError> {
        self.check()?;
        self.alarm.set(Some(at));
        Ok(())
    }
    async fn delete_alarm(&self) -> Result<(), StoreError> {
        self.check()?;
        self.alarm.set(None);
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
