//! Where a pair's record lives, and which copy wins: the one place that knows about the
//! cookie, the isolate's memory, the optional KV namespace and, inside a pair's Durable
//! Object, the object's own copy.
//!
//! [`Storage::load`] finds the newest record the webhook can know (the newest sequence
//! number wins); [`Storage::save`] seals it into the cookie (spilling to KV, or trimming
//! turns, when it outgrows 4096 bytes), remembers it, and returns the KV writes to run
//! after the reply; a record too large for every store bound is kept nowhere (the limits
//! are [`Place::limit`]'s). The webhook's path never asks whether KV is bound.

mod memory;
mod save;

use std::cell::OnceCell;
use std::rc::Rc;

use memory::PairKey;
pub use memory::{Memory, BYTE_BUDGET, CAPACITY};

use crate::record::{HistoryLimits, Pair, Record};
use crate::seal::{self, Opened, Place, SealError, SessionKeys, TooLarge};

/// Twilio drops a pair's cookies after 4 hours without a message, whatever their `Max-Age`.
pub const TWILIO_COOKIE_SECONDS: u64 = 4 * 60 * 60;

/// Why a store (the KV namespace, a Durable Object's storage) could not be used. In the log
/// (and as JSON) it is the text [`Display`](std::fmt::Display) gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A KV read that did not answer within the worker's bound.
    TimedOut,
    /// The runtime's error (a fault, a rate limit), as it worded it.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::TimedOut => f.write_str("KV read timed out"),
            StoreError::Failed(why) => f.write_str(why),
        }
    }
}

impl serde::Serialize for StoreError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A key-value store for records: the `CONVERSATIONS` KV namespace in the worker, a map in
/// tests. Only reads happen while a webhook is answered; writes are returned as
/// [`KvWrite`]s for the caller to run after the reply.
#[allow(async_fn_in_trait)] // One thread per isolate: the futures need not be `Send`.
pub trait Store {
    /// The value under `key`, `None` when absent; `Err` for any fault (network, rate limit,
    /// timeout), for the log.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Whether a store of this type can be bound at all: `false` for [`NoStore`], so that a
    /// build without KV carries none of the code that reads, spills or writes to it.
    const BINDABLE: bool = true;
}

/// Stands in for "no KV binding".
pub struct NoStore;

impl Store for NoStore {
    async fn get(&self, _key: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    const BINDABLE: bool = false;
}

/// A KV change to make once the reply is on its way (`ctx.wait_until` in the worker).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KvWrite {
    /// Store `value` under `key` for `ttl_seconds`.
    Put {
        /// The KV key.
        key: String,
        /// A sealed record.
        value: String,
        /// KV expiration TTL.
        ttl_seconds: u64,
    },
    /// Remove `key`.
    Delete {
        /// The KV key.
        key: String,
    },
}

/// Where the record of a webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// No usable copy: the conversation starts here.
    New,
    /// The pair's cookie.
    Cookie,
    /// The `CONVERSATIONS` KV namespace (no cookie, or a pointer to a spilled record).
    Kv,
    /// The isolate's memory: the cookie was older than the record answered last.
    Memory,
    /// The pair's Durable Object.
    Object,
}

impl Source {
    /// Its name in logs and the `X-State-Source` header.
    pub fn name(self) -> &'static str {
        match self {
            Source::New => "new",
            Source::Cookie => "cookie",
            Source::Kv => "kv",
            Source::Memory => "memory",
            Source::Object => "object",
        }
    }
}

/// How records are sealed and kept, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Keys that seal and open records (`SESSION_SECRET`).
    pub keys: SessionKeys,
    /// `CONVERSATION_TTL_SECONDS`: idle time after which a conversation ends, in the object
    /// and in the cookie (which no longer opens); over 4 hours only with a store to keep it.
    pub conversation_ttl_seconds: u64,
    /// `KV_TTL_SECONDS`: life of a KV entry (and of the object's record) after the pair's
    /// last message; never shorter than the conversation's idle limit.
    pub kv_ttl_seconds: u64,
    /// `ENCRYPT_STATE`: seal with ChaCha20-Poly1305 so Twilio and KV hold nothing readable.
    pub encrypt: bool,
    /// `HISTORY_TURNS`, `HISTORY_MAX_BYTES`.
    pub history: HistoryLimits,
}

impl Settings {
    /// The cookie's `Max-Age`: the conversation's idle limit, but never over the 4 hours
    /// Twilio keeps a cookie (a store keeps the conversation beyond).
    ///
    /// ```
    /// # use sms_conversation_worker::config::{Config, Vars};
    /// # let lookup = |name: &str| match name {
    /// #     "SESSION_SECRET" => Some("a-session-secret-of-at-least-32-bytes!!".to_string()),
    /// #     "CONVERSATION_TTL_SECONDS" => Some("86400".to_string()),
    /// #     _ => None,
    /// # };
    /// let config = Config::from_vars(&Vars::new(&lookup)).unwrap();
    /// assert_eq!(config.storage.conversation_ttl_seconds, 86400);
    /// assert_eq!(config.storage.cookie_max_age(), 14400);
    /// ```
    pub fn cookie_max_age(&self) -> u64 {
        // A build that can bind no store never parses an idle limit over 4 hours.
        if cfg!(any(feature = "kv", feature = "objects")) {
            self.conversation_ttl_seconds.min(TWILIO_COOKIE_SECONDS)
        } else {
            self.conversation_ttl_seconds
        }
    }
}

/// The newest record found for a webhook, and what saving it needs to know.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The newest record (a new one when nothing usable was found), shared with the
    /// isolate's memory when that is where it came from: a retry answers from it without a
    /// copy, a counted message takes it out and copies it only if it is shared
    /// (`Rc::make_mut`). [`Storage::save`] reads only the other fields.
    pub record: Rc<Record>,
    /// Where it came from.
    pub source: Option<Source>,
    /// The isolate's memory of the pair, even when it was not the newest copy: it still
    /// knows which messages it answered.
    pub remembered: Option<Rc<Record>>,
    /// A KV read that failed, for the log.
    pub kv_error: Option<StoreError>,
    /// The spill key of the pointer cookie the webhook came with: reused, so a long
    /// conversation keeps one spilled entry.
    spill_key: Option<String>,
    /// The pointer's key was not in KV (not written yet, or not yet visible here): the
    /// record is the newest other copy found.
    pub pointer_unread: bool,
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded {
            record: empty_record(),
            source: None,
            remembered: None,
            kv_error: None,
            spill_key: None,
            pointer_unread: false,
        }
    }
}

/// A new conversation's record, shared: a webhook that starts a pair, or takes its record out
/// of [`Loaded`], allocates nothing until it changes one.
pub(crate) fn empty_record() -> Rc<Record> {
    thread_local! {
        static EMPTY: Rc<Record> = Rc::default();
    }
    EMPTY.with(Rc::clone)
}

/// What happened to the record, which decides what is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new message was counted.
    Counted,
    /// A retry or replay: nothing changed, the cookie is set again.
    Unchanged,
    /// The conversation was forgotten.
    Reset,
}

/// What saving a record produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// The `Set-Cookie` header; `None` when no cookie can hold the record.
    pub set_cookie: Option<String>,
    /// KV writes to run after the reply.
    pub writes: Vec<KvWrite>,
    /// A seal that failed: nothing was written in its place (no cookie, no KV value).
    pub error: Option<SealError>,
    /// A record too large for the largest store bound: nothing was written or remembered
    /// (no cookie, no KV value), so the pair's previous state stays where it was.
    pub too_large: Option<TooLarge>,
}

/// One pair's storage during one webhook.
pub struct Storage<'a, S> {
    settings: &'a Settings,
    pair: Pair<'a>,
    now: u64,
    kv: Option<&'a S>,
    memory: Option<&'a Memory>,
    /// The pair's key in `memory`, made the first time the memory is asked.
    memory_key: OnceCell<PairKey>,
    /// Inside the pair's Durable Object: the record it keeps (`Some(None)`: none yet).
    object: Option<Option<Record>>,
    /// Read the pair's KV entry even when the cookie holds the record: the state API may
    /// have changed it (see [`Storage::reading_kv_always`]).
    kv_always: bool,
}

impl<'a, S: Store> Storage<'a, S> {
    /// The storage of `pair` at time `now`, with the KV namespace and the isolate's memory
    /// when there are.
    pub fn new(
        settings: &'a Settings,
        pair: Pair<'a>,
        now: u64,
        kv: Option<&'a S>,
        memory: Option<&'a Memory>,
    ) -> Self {
        Storage {
            settings,
            pair,
            now,
            kv,
            memory,
            memory_key: OnceCell::new(),
            object: None,
            kv_always: false,
        }
    }

    /// The same storage reading the pair's KV entry on every message, the newer of it and
    /// the cookie winning: with the state API enabled (`ADMIN_API_KEY`) and no objects, KV is
    /// where a change made through it waits for the pair's next message. One KV read more
    /// per message.
    pub fn reading_kv_always(mut self) -> Self {
        self.kv_always = true;
        self
    }

    /// The storage of a pair inside its Durable Object, which keeps `stored`: that copy is
    /// authoritative (a stale or missing cookie never rolls it back); the cookie wins only when
    /// it is newer (the worker answered from it while the object could not be reached).
    pub fn in_object(mut self, stored: Option<Record>) -> Self {
        self.memory = None;
        self.object = Some(stored);
        self
    }

    /// The isolate's memory, when there is one, and the pair's key in it.
    fn memory(&self) -> Option<(&'a Memory, &PairKey)> {
        let memory = self.memory?;
        Some((
            memory,
            self.memory_key.get_or_init(|| PairKey::of(&self.pair)),
        ))
    }

    /// The KV namespace, when one is bound; known to be none when compiling for [`NoStore`].
    fn kv(&self) -> Option<&'a S> {
        if S::BINDABLE {
            self.kv
        } else {
            None
        }
    }

    /// The newest record of the pair. The cookie is authoritative when it holds the record
    /// and nothing newer is remembered; KV is read only without a usable cookie, or for a
    /// spilled record. Faults are logged and read as "nothing there".
    pub async fn load(&self, cookie_header: Option<&str>) -> Loaded {
        let mut loaded = Loaded::default();
        let mut best = self.open_cookie(cookie_header, &mut loaded);
        loaded.source = best.as_ref().map(|_| Source::Cookie);
        if let Some(stored) = self.object_copy(best.as_deref()) {
            loaded.record = Rc::new(stored.clone());
            loaded.source = Some(Source::Object);
            return loaded;
        }
        if best.is_none() || loaded.spill_key.is_some() || self.kv_always {
            self.take_newer_from_kv(&mut best, &mut loaded).await;
        }
        loaded.remembered = self.memory().and_then(|(m, key)| m.get_keyed(key));
        self.take_newer_from_memory(&mut best, &mut loaded);
        // Not copied: the newest copy may be the isolate memory's, which a retry only reads.
        loaded.record = best.unwrap_or_else(empty_record);
        loaded.source = Some(loaded.source.unwrap_or(Source::New));
        loaded
    }

    /// The record the cookie holds, or the summary it points at (the pointer's spill key
    /// goes to `loaded`). A jar can hold duplicates of our cookie (a proxy, a client that
    /// appended instead of replacing): the one with the highest sequence number wins.
    fn open_cookie(&self, cookie_header: Option<&str>, loaded: &mut Loaded) -> Option<Rc<Record>> {
        let mut best: Option<(Rc<Record>, Option<String>)> = None;
        for value in seal::cookie_values_tried(cookie_header?) {
            let Some((record, spill_key)) = self.open_value(value) else {
                continue;
            };
            if best.as_ref().is_none_or(|(b, _)| record.seq >= b.seq) {
                best = Some((record, spill_key));
            }
        }
        let (record, spill_key) = best?;
        loaded.spill_key = spill_key;
        Some(record)
    }

    /// One cookie value opened: the record, or the summary and spill key of a pointer. A
    /// value the isolate sealed or opened for the pair before is not opened again (what it
    /// holds cannot have changed, only expired).
    fn open_value(&self, value: &str) -> Option<(Rc<Record>, Option<String>)> {
        let keys = &self.settings.keys;
        #[cfg(cookie_memory)]
        if let Some((expires_at, record)) = self
            .memory()
            .and_then(|(m, key)| m.known_cookie(key, value))
            .filter(|_| keys.still_opens(value))
        {
            return (self.now < expires_at).then_some((record, None));
        }
        match keys.open_expiring(value, Place::Cookie, &self.pair, self.now) {
            Ok((Opened::Record(record), _expires_at)) => {
                let record = Rc::new(record);
                #[cfg(cookie_memory)]
                if let Some((memory, key)) = self.memory() {
                    memory.note_opened(key, value, _expires_at, &record);
                }
                Some((record, None))
            }
            Ok((Opened::Pointer(pointer), _)) => {
                Some((Rc::new(pointer.summary), Some(pointer.key)))
            }
            Err(_) => None,
        }
    }

    /// Inside the pair's object, its copy unless the cookie's is newer.
    fn object_copy(&self, cookie: Option<&Record>) -> Option<&Record> {
        let Some(Some(stored)) = &self.object else {
            return None;
        };
        cookie.is_none_or(|b| stored.seq >= b.seq).then_some(stored)
    }

    /// Takes KV's record when it is newer than `best` (and notes a failed read).
    async fn take_newer_from_kv(&self, best: &mut Option<Rc<Record>>, loaded: &mut Loaded) {
        let Some(kv) = self.kv() else {
            return;
        };
        let (found, error, pointed) = self.read_kv(kv, loaded.spill_key.as_deref()).await;
        loaded.kv_error = error;
        loaded.pointer_unread = loaded.spill_key.is_some() && !pointed;
        // A pointer newer than anything KV returned means KV has not caught up: go
        // on from the pointer's summary, which keeps the count exact. A cookie that
        // holds the record gives way only to a newer entry (one the state API wrote).
        let cookie_record = loaded.spill_key.is_none() && best.is_some();
        let newer = |f: &Record, b: &Record| f.seq > b.seq || (!cookie_record && f.seq == b.seq);
        if let Some(found) = found.filter(|f| best.as_deref().is_none_or(|b| newer(f, b))) {
            *best = Some(Rc::new(found));
            loaded.source = Some(Source::Kv);
        }
    }

    /// Takes the isolate's memory of the pair when it is newer than `best` and may stand in.
    fn take_newer_from_memory(&self, best: &mut Option<Rc<Record>>, loaded: &mut Loaded) {
        // Without KV a conversation whose cookie is gone starts afresh, as Twilio's cookie
        // life says; memory only takes over a reset's empty record, to keep sequences rising.
        let recoverable = best.is_some() || self.kv().is_some();
        if let Some(newer) = loaded.remembered.as_ref().filter(|m| {
            best.as_ref().is_none_or(|b| m.seq > b.seq) && (recoverable || m.count == 0)
        }) {
            *best = Some(Rc::clone(newer));
            loaded.source = Some(Source::Memory);
        }
    }

    /// The newest record in KV: the spilled record a pointer names, then the pair's entry
    /// under each key it may be under, the first found; and whether the pointer's key held one.
    async fn read_kv(
        &self,
        kv: &S,
        spill_key: Option<&str>,
    ) -> (Option<Record>, Option<StoreError>, bool) {
        let keys = &self.settings.keys;
        let mut best: Option<Record> = None;
        let (mut error, mut pointed) = (None, false);
        let pair_keys = keys.pair_keys(&self.pair);
        let candidates = spill_key
            .into_iter()
            .chain(pair_keys.iter().map(String::as_str));
        for (i, key) in candidates.enumerate() {
            let is_pair_entry = spill_key.is_none() || i > 0;
            if is_pair_entry && best.is_some() {
                break;
            }
            match kv.get(key).await {
                Ok(Some(value)) => self.keep_newer(&value, &mut best),
                Ok(None) => {}
                Err(e) => error = Some(e),
            }
            pointed |= !is_pair_entry && best.is_some();
        }
        (best, error, pointed)
    }

    /// Keeps the record a KV `value` holds when it is newer than `best`.
    fn keep_newer(&self, value: &str, best: &mut Option<Record>) {
        let opened = self
            .settings
            .keys
            .open(value, Place::Kv, &self.pair, self.now);
        if let Ok(Opened::Record(record)) = opened {
            if best.as_ref().is_none_or(|b| record.seq > b.seq) {
                *best = Some(record);
            }
        }
    }
}

#[cfg(test)]
mod tests;
