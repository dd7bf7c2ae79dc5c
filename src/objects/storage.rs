//! What the object keeps in its storage, and how it reads and writes it (feature `objects`).

use serde::{Deserialize, Serialize};

use super::object::PairObject;
use super::outbox::{Outgoing, OUTBOX};
use super::store::ObjectStore;
use crate::object_calls::ObjectError;

use crate::record::{Pair, Record};
use crate::seal::{Opened, Place, Purpose};
use crate::storage::Store;

/// The object's keys in its storage.
pub(super) const RECORD: &str = "record";
pub(super) const PAIR: &str = "pair";
pub(super) const FOLLOW_UP: &str = "follow_up";
/// The answers to recent starts, by idempotency key.
pub(super) const STARTS: &str = "starts";
/// What recent starts asked, by idempotency key (a key of its own: `STARTS`' format is kept).
pub(super) const START_REQUESTS: &str = "start_requests";

/// The pair an object is for (the alarm comes with no message to learn it from), with the
/// origin its sends' status callbacks go to.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredPair {
    pub(super) account_sid: String,
    pub(super) to: String,
    pub(super) from: String,
    /// The worker's public origin, for status callbacks (empty: none known).
    #[serde(default)]
    pub(super) origin: String,
}

impl StoredPair {
    /// The pair, borrowed as the record's seal and the webhook name it.
    pub(super) fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: &self.account_sid,
            to: &self.to,
            from: &self.from,
        }
    }
}

impl<O: ObjectStore, K: Store> PairObject<'_, O, K> {
    /// The send in flight, if any: one that no longer reads (another version's) is none.
    pub(super) async fn load_outgoing(&self) -> Result<Option<Outgoing>, ObjectError> {
        let text = self.store.get(OUTBOX).await?;
        Ok(text.and_then(|text| unpacked(&text)))
    }

    /// Keeps the send in flight as it stands, before anything else can happen to it.
    pub(super) async fn save_outgoing(&self, outgoing: &Outgoing) -> Result<(), ObjectError> {
        Ok(self.store.put(OUTBOX, &packed(outgoing)?).await?)
    }

    /// The pair the object is for, as the first call to it told it.
    pub(super) async fn load_pair(&self) -> Result<Option<StoredPair>, ObjectError> {
        match self.store.get(PAIR).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// The pair's record as a new message or start finds it: a conversation idle past
    /// `CONVERSATION_TTL_SECONDS` has ended, as its cookie would have.
    pub(super) async fn load_record(&self, pair: &Pair<'_>) -> Result<Option<Record>, ObjectError> {
        let ttl = self.setup.config.storage.conversation_ttl_seconds;
        let kept = self.load_kept(pair).await?;
        Ok(kept.map(|record| record.idle_ended(ttl, self.now())))
    }

    /// The pair's record as the object keeps it: what a follow-up the conversation asked for
    /// runs on, however long it waited (sending it makes the conversation active again).
    pub(super) async fn load_kept(&self, pair: &Pair<'_>) -> Result<Option<Record>, ObjectError> {
        let Some(sealed) = self.store.get(RECORD).await? else {
            return Ok(None);
        };
        let keys = &self.setup.config.storage.keys;
        Ok(match keys.open(&sealed, Place::Object, pair, self.now()) {
            Ok(Opened::Record(record)) => Some(record),
            // Sealed under a key no longer configured, or expired: start from the cookie.
            _ => None,
        })
    }

    /// Seals the pair's record for the object (its own purpose: a cookie's seal never opens
    /// here), kept as long as KV would keep it: never less than the conversation's idle limit.
    /// A record over [`Place::Object`]'s limit is not written ([`ObjectError::TooLarge`]): the
    /// one kept before stays, readable.
    pub(super) async fn save_record(
        &self,
        pair: &Pair<'_>,
        record: &Record,
    ) -> Result<(), ObjectError> {
        let s = &self.setup.config.storage;
        let expires = self.now() + s.kv_ttl_seconds;
        let sealed = s
            .keys
            .seal(record, Purpose::Object, pair, expires, s.encrypt);
        let sealed = sealed.map_err(ObjectError::Seal)?;
        Place::Object
            .check(sealed.len())
            .map_err(ObjectError::TooLarge)?;
        Ok(self.store.put(RECORD, &sealed).await?)
    }

    /// The alarm has no request to learn the pair from; it never changes for an object. The
    /// origin comes with each call, for status callbacks.
    pub(super) async fn save_pair(&self, pair: &Pair<'_>, origin: &str) -> Result<(), ObjectError> {
        let stored_pair = StoredPair {
            account_sid: pair.account_sid.to_string(),
            to: pair.to.to_string(),
            from: pair.from.to_string(),
            origin: origin.to_string(),
        };
        Ok(self.store.put(PAIR, &json(&stored_pair)?).await?)
    }
}

/// What the object stores beside the record (the pair, a pending follow-up), as JSON.
pub(super) fn json(value: &impl Serialize) -> Result<String, ObjectError> {
    Ok(serde_json::to_string(value)?)
}

/// The send in flight and the starts' answers, as postcard in base64url: they live minutes
/// to a day, and postcard's reader for them is a fraction of serde_json's in the wasm
/// (the reader of a struct in JSON matches every field by name).
pub(super) fn packed(value: &impl Serialize) -> Result<String, ObjectError> {
    postcard::to_allocvec(value)
        .map(|bytes| crate::b64::url(&bytes))
        .map_err(|e| ObjectError::BadJson(e.to_string()))
}

/// The value [`packed`] stored; `None` for one that does not read (another version's).
pub(super) fn unpacked<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    postcard::from_bytes(&crate::b64::from_url(text)?).ok()
}
