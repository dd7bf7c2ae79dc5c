//! Starts (`POST /conversations`): a conversation opened from our side, and the answers kept
//! for a repeat with the same idempotency key (feature `objects`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::object::PairObject;
use super::outbox::{Outgoing, Why};
use super::storage::{packed, unpacked, StoredPair, STARTS, START_REQUESTS};
use super::store::ObjectStore;
use super::window::OUTSIDE_WINDOW;
use crate::object_calls::{ObjectError, StartCall};

use crate::conversation::{Reply, SavedState, Start};
use crate::record::Record;
use crate::storage::Store;
use crate::twilio::messages::SendError;
use crate::twilio::segments::as_configured;

/// How long a start's answer is kept for a repeat with its idempotency key.
pub(crate) const START_KEY_SECONDS: u64 = 24 * 60 * 60;
/// At most this many starts' answers are kept.
const MAX_STARTS_KEPT: usize = 50;

/// A status and JSON body answering `POST /conversations`.
type Answer = (u16, String);

/// A start's answer, kept for a repeat with its idempotency key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StartAnswer {
    status: u16,
    body: String,
    at: u64,
}

/// What a start under an idempotency key asked, kept beside its answer (under a storage key
/// of its own, so the answers kept by earlier releases still open): a repeat must ask the
/// same.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StartRequest {
    /// [`fingerprint`] of the request.
    asked: String,
    at: u64,
}

/// What recent starts asked, by idempotency key.
type StartRequests = BTreeMap<String, StartRequest>;

/// What the kept starts share: when they were kept, for [`forget_old`].
trait Kept {
    fn at(&self) -> u64;
}

impl Kept for StartAnswer {
    fn at(&self) -> u64 {
        self.at
    }
}

impl Kept for StartRequest {
    fn at(&self) -> u64 {
        self.at
    }
}

#[cfg_attr(
    not(any(target_arch = "wasm32", feature = "harness")),
    allow(dead_code)
)]
impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// Starts a conversation from our side: the conversation's opening message goes out
    /// through the Messages API and the object keeps the state, so the person's reply (which
    /// comes with no cookie) continues it. Answers the status and JSON body of
    /// `POST /conversations`.
    pub(crate) async fn start(&self, call: &StartCall) -> Result<Answer, ObjectError> {
        let fields = match serde_json::from_str::<Value>(&call.json) {
            Ok(Value::Object(map)) => map,
            _ => return Ok(problem(400, "the body must be a JSON object")),
        };
        let key = &call.idempotency_key;
        let (requests, asked) = (self.load_requests().await?, fingerprint(call));
        if requests.get(key).is_some_and(|r| r.asked != asked) {
            // The key was used with another request (never one not kept, nor one kept by a
            // release that did not keep its request).
            return Ok(problem(422, KEY_REUSED));
        }
        if let Some(answer) = self.kept_answer(key).await? {
            return Ok(answer);
        }
        if let Some(outgoing) = self.in_flight_start(key).await? {
            return self.repeat_pending(call, outgoing).await;
        }
        self.start_new(call, fields, (requests, asked)).await
    }

    /// The send in flight, when it is the start with idempotency key `key`.
    async fn in_flight_start(&self, key: &str) -> Result<Option<Outgoing>, ObjectError> {
        let outgoing = self.load_outgoing().await?;
        Ok(outgoing.filter(|o| start_key(&o.why) == Some(key)))
    }

    /// A start not seen before: refused, or its opening sent.
    async fn start_new(
        &self,
        call: &StartCall,
        fields: Map<String, Value>,
        asked: (StartRequests, String),
    ) -> Result<Answer, ObjectError> {
        let stored_pair = replying_pair(call);
        let pair = stored_pair.pair();
        let previous = self.load_record(&pair).await?;
        let replace = fields.get("replace") == Some(&Value::Bool(true));
        if let Some(refusal) = self.refuse_start(previous.as_ref(), replace).await? {
            return Ok(refusal);
        }
        let (reply, state) = match self.opening(call, fields).await {
            Ok(opening) => opening,
            Err(refusal) => return Ok(refusal),
        };
        let record = previous.unwrap_or_default();
        let Some(forms) = self.forms(&stored_pair, &record, &reply) else {
            return Ok(problem(422, OUTSIDE_WINDOW));
        };
        self.save_pair(&pair, &call.origin).await?;
        self.remember_request(call, asked).await?;
        let outgoing = Outgoing::new(start_why(call), forms, reply, state);
        let what = self.proceed(&stored_pair, outgoing).await;
        self.answer_start(call, what).await
    }

    /// A start repeated while its send is still on its way: it goes on if it is due, and the
    /// answer is where it got to.
    async fn repeat_pending(
        &self,
        call: &StartCall,
        outgoing: Outgoing,
    ) -> Result<Answer, ObjectError> {
        let what = match self.load_pair().await? {
            Some(stored_pair) if outgoing.wake_at() <= self.now() => {
                self.proceed(&stored_pair, outgoing).await
            }
            _ => Ok(format!("send {}: still confirming", outgoing.id)),
        };
        self.answer_start(call, what).await
    }

    /// The answer to a start once its send went as far as it could: the result kept under
    /// its key, or `202` while it is still on its way.
    async fn answer_start(
        &self,
        call: &StartCall,
        what: Result<String, ObjectError>,
    ) -> Result<Answer, ObjectError> {
        let kept = self.kept_answer(&call.idempotency_key).await?;
        Ok(kept.unwrap_or_else(|| pending(call, what)))
    }

    /// Why a start cannot go ahead for this pair now, as its answer: the person opted out, a
    /// send is still on its way, or a conversation is in progress (as the conversation
    /// says) and `replace` was not asked.
    async fn refuse_start(
        &self,
        previous: Option<&Record>,
        replace: bool,
    ) -> Result<Option<Answer>, ObjectError> {
        if previous.is_some_and(Record::opted_out) {
            return Ok(Some(problem(
                409,
                "the person opted out (STOP): nothing is sent until they text START",
            )));
        }
        if let Some(outgoing) = self.load_outgoing().await? {
            return Ok(Some(still_sending(&outgoing)));
        }
        let conversation = &self.setup.conversation;
        let in_progress = |record: &Record| conversation.in_progress(&record.state, record.view());
        let busy = previous.filter(|record| !replace && in_progress(record));
        Ok(busy.map(in_progress_refusal))
    }

    /// The conversation's opening message and the state it leaves; or the answer refusing
    /// the start.
    async fn opening(
        &self,
        call: &StartCall,
        fields: Map<String, Value>,
    ) -> Result<(Reply, SavedState), Answer> {
        let start = Start {
            to: call.to.clone(),
            from: call.from.clone(),
            fields,
        };
        let id = format!("start:{}", call.idempotency_key);
        let ctx = self.context(&call.account_sid, &id);
        let mut state = SavedState::default();
        let ran = self
            .setup
            .conversation
            .start(&start, &mut state, &ctx)
            .await;
        match (ran.answer, ran.state_error) {
            // Nothing is sent that the object could not continue.
            (Ok(_), Some(e)) => Err(problem(500, &e.to_string())),
            (Ok(reply), None) if !reply.is_empty() => Ok((
                as_configured(reply, self.setup.config.smart_encoding),
                state,
            )),
            (Ok(_), None) => Err(problem(400, "the conversation has no opening message")),
            (Err(why), _) => Err(problem(400, &why)),
        }
    }
}

impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// The answer kept for the start with idempotency key `key`, if any.
    async fn kept_answer(&self, key: &str) -> Result<Option<Answer>, ObjectError> {
        let starts = self.load_starts().await?;
        Ok(starts.get(key).map(|a| (a.status, a.body.clone())))
    }

    /// Keeps what the start asked under its key, as its send begins: a refused start keeps
    /// nothing, so it can be asked again, corrected, with the same key.
    /// `asked` is what [`PairObject::start`] read and computed: the kept requests and this
    /// one's fingerprint.
    async fn remember_request(
        &self,
        call: &StartCall,
        (mut requests, asked): (StartRequests, String),
    ) -> Result<(), ObjectError> {
        forget_old(&mut requests, self.now());
        let request = StartRequest {
            asked,
            at: self.now(),
        };
        requests.insert(call.idempotency_key.clone(), request);
        Ok(self.store.put(START_REQUESTS, &packed(&requests)?).await?)
    }

    /// What recent starts asked, by idempotency key; none when they do not read.
    async fn load_requests(&self) -> Result<StartRequests, ObjectError> {
        let text = self.store.get(START_REQUESTS).await?;
        Ok(text.and_then(|t| unpacked(&t)).unwrap_or_default())
    }

    /// The answers to recent starts, by idempotency key; none when they do not read.
    async fn load_starts(&self) -> Result<BTreeMap<String, StartAnswer>, ObjectError> {
        let text = self.store.get(STARTS).await?;
        Ok(text.and_then(|t| unpacked(&t)).unwrap_or_default())
    }

    /// Keeps `answer` as the answer to the start `why` names (nothing for a follow-up),
    /// dropping answers older than [`START_KEY_SECONDS`].
    pub(super) async fn finish_start(&self, why: &Why, answer: Answer) -> Result<(), ObjectError> {
        let Some(key) = start_key(why) else {
            return Ok(());
        };
        let mut starts = self.load_starts().await?;
        forget_old(&mut starts, self.now());
        let (status, body) = answer;
        let at = self.now();
        starts.insert(key.to_string(), StartAnswer { status, body, at });
        Ok(self.store.put(STARTS, &packed(&starts)?).await?)
    }
}

/// Drops what was kept longer than [`START_KEY_SECONDS`] ago, and the oldest beyond
/// [`MAX_STARTS_KEPT`] (leaving room for one more).
fn forget_old<T: Kept>(starts: &mut BTreeMap<String, T>, now: u64) {
    starts.retain(|_, a| a.at().saturating_add(START_KEY_SECONDS) > now);
    while let Some(oldest) = oldest_beyond_room(starts) {
        starts.remove(&oldest);
    }
}

/// The key of the oldest entry while there is no room for one more.
fn oldest_beyond_room<T: Kept>(starts: &BTreeMap<String, T>) -> Option<String> {
    if starts.len() < MAX_STARTS_KEPT {
        return None;
    }
    let oldest = starts.iter().min_by_key(|(_, a)| a.at());
    oldest.map(|(k, _)| k.clone())
}

/// The pair a start opens, as the object keeps it: the person's reply will come To our
/// number From theirs.
fn replying_pair(call: &StartCall) -> StoredPair {
    StoredPair {
        account_sid: call.account_sid.clone(),
        to: call.from.clone(),
        from: call.to.clone(),
        origin: call.origin.clone(),
    }
}

/// What a start asks, as 32 hex digits: SHA-256 over its `to`, `from` and JSON body exactly
/// as sent, so a repeat under the same key is recognised as the same request.
fn fingerprint(call: &StartCall) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    crate::fields::length_prefixed([call.to.as_str(), &call.from, &call.json], |b| {
        hash.update(b)
    });
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The refusal of a start whose idempotency key was used with another request: the first one
/// went ahead, and this one would be answered as if it had.
const KEY_REUSED: &str =
    "this Idempotency-Key was used with another request: use a new key for a new request";

/// What the start's send is for: this start, by its idempotency key.
fn start_why(call: &StartCall) -> Why {
    Why::Start {
        key: call.idempotency_key.clone(),
    }
}

/// The refusal of a start while a message to the person is still on its way.
fn still_sending(outgoing: &Outgoing) -> Answer {
    let body = serde_json::json!({
        "error": "a message to this person is still being sent",
        "send": outgoing.id,
    });
    (409, body.to_string())
}

/// The idempotency key of a start.
pub(super) fn start_key(why: &Why) -> Option<&str> {
    match why {
        Why::Start { key } => Some(key),
        Why::FollowUp { .. } => None,
    }
}

/// The refusal of a start over a conversation in progress (as the conversation says,
/// [`crate::conversation::Conversation::in_progress`]) without `replace`.
fn in_progress_refusal(record: &Record) -> Answer {
    let body = serde_json::json!({
        "error": "a conversation with this person is in progress: send \"replace\": true to start over",
        "conversation": {"count": record.count, "last_seen": record.last_seen, "turns": record.turns.len()},
    });
    (409, body.to_string())
}

/// A start still on its way: Twilio's answer was lost or asked us to wait.
fn pending(call: &StartCall, what: Result<String, ObjectError>) -> Answer {
    let body = serde_json::json!({
        "status": "pending",
        "idempotency_key": call.idempotency_key,
        "to": call.to,
        "from": call.from,
        "detail": match what { Ok(w) => w, Err(e) => e.to_string() },
        "next": "The worker finds out whether Twilio took the message before it sends anything again. Repeat this request with the same Idempotency-Key to learn the result: it never sends twice.",
    });
    (202, body.to_string())
}

/// The answer to a start whose opening message Twilio refused: a 502 with Twilio's status
/// and code (nothing was sent).
pub(super) fn not_sent(e: &SendError) -> Answer {
    let body = match e {
        SendError::Refused { status, code, .. } => {
            serde_json::json!({"status": "refused", "error": e.to_string(), "twilio_status": status, "code": code})
        }
        e => serde_json::json!({"status": "refused", "error": e.to_string()}),
    };
    (502, body.to_string())
}

/// A refusal's answer: `status` and why, as JSON.
fn problem(status: u16, why: &str) -> Answer {
    (status, serde_json::json!({ "error": why }).to_string())
}
