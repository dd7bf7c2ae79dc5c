//! The records this isolate answered last, per pair: a best-effort guard against stale
//! cookies and replays.
//!
//! Twilio warns that the cookie it sends back may not carry the latest value when two
//! messages of a pair arrive close together, and a captured webhook can be sent again with
//! an older cookie. Reading KV for every message would catch those, but costs a read per
//! message; instead the isolate remembers the last record it sealed for each pair (close
//! messages usually reach the same isolate), and a cookie with an older sequence number
//! than that memory is replaced by it. What it cannot see (another isolate, a restarted
//! one) is no worse than without it; the Durable Objects binding closes that gap.

use std::cell::RefCell;
use std::rc::Rc;

use crate::record::{Pair, Record};

/// How many pairs an isolate remembers; beyond that the one remembered longest ago goes.
pub const CAPACITY: usize = 256;
/// Bytes of records an isolate remembers at most (an isolate has 128 MB in all).
pub const BYTE_BUDGET: usize = 4 << 20;

/// How many running late turns an isolate remembers: `waitUntil` ends each within about 30 s,
/// and a turn cut there never says it ended, so the oldest are forgotten.
const RUNNING: usize = 64;

/// A remembered pair.
#[derive(Debug)]
struct Entry {
    key: PairKey,
    record: Rc<Record>,
    /// The cookie value this isolate sealed for `record` whole, and when it expires: handed
    /// out again for the same record (a retry), and opened without its MAC or cipher when the
    /// pair's next message brings it back.
    #[cfg(cookie_memory)]
    sealed: Option<Known>,
    /// The last other cookie value of the pair this isolate opened (a retry of the latest
    /// message comes with the cookie before it), and what it held.
    #[cfg(cookie_memory)]
    opened: Option<Known>,
    /// The bytes it counts for.
    size: usize,
}

/// A cookie value known to open, for its pair, to `record` until `expires_at`.
#[cfg(cookie_memory)]
#[derive(Debug)]
struct Known {
    value: String,
    expires_at: u64,
    record: Rc<Record>,
}

impl Entry {
    /// The bytes it holds: its key, its record, its cookie values and any record they hold
    /// besides its own.
    fn bytes(&self) -> usize {
        let own = self.key.bytes.len() + self.record.approx_bytes();
        #[cfg(cookie_memory)]
        let own = {
            let known = |k: &Option<Known>| {
                k.as_ref().map_or(0, |k| {
                    let other = !Rc::ptr_eq(&k.record, &self.record);
                    k.value.len() + if other { k.record.approx_bytes() } else { 0 }
                })
            };
            own + known(&self.sealed) + known(&self.opened)
        };
        own
    }
}

/// Latest records by pair, bounded in count and bytes, oldest first. A plain vector: with all
/// 256 pairs remembered, a look-up costs 0.7 µs and an update 1.9 µs natively; two maps (by
/// pair, by age) measured 0.2 and 0.7 µs but added 6 KB of gzipped wasm, which every cold
/// start loads. A look-up shares the record (`Rc`) instead of copying it: with 256 pairs of
/// 9-turn records, 1.1 µs instead of 1.7–2.3 µs.
///
/// Requests of one isolate interleave at every `.await`, but never run in parallel (one
/// thread), and each method below borrows the vector only between two awaits: that is what
/// keeps the `RefCell` safe. Whichever of two interleaved requests of a pair saves last is
/// remembered.
#[derive(Debug)]
pub struct Memory {
    entries: RefCell<Vec<Entry>>,
    /// The MessageSids whose late reply this isolate is still working on (KV alone), at most
    /// [`RUNNING`]: a retry of one gets empty TwiML, never a second run.
    running: RefCell<Vec<String>>,
    capacity: usize,
    byte_budget: usize,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::with_limits(CAPACITY, BYTE_BUDGET)
    }
}

impl Memory {
    /// A memory of at most `capacity` pairs and `byte_budget` bytes of records.
    pub fn with_limits(capacity: usize, byte_budget: usize) -> Self {
        Memory {
            entries: RefCell::new(Vec::new()),
            running: RefCell::new(Vec::new()),
            capacity,
            byte_budget,
        }
    }

    /// The remembered record of `pair`, shared (the memory never changes a record it holds:
    /// remembering another replaces it).
    ///
    /// ```
    /// use sms_conversation_worker::{record::{Pair, Record}, storage::Memory};
    /// let pair = Pair { account_sid: "AC1", to: "+15005550006", from: "+14155550100" };
    /// let memory = Memory::default();
    /// let mut record = Record::default();
    /// record.count_message("SM1", 1);
    /// memory.remember(&pair, &record);
    /// assert_eq!(memory.get(&pair).map(|r| r.count), Some(1));
    /// ```
    pub fn get(&self, pair: &Pair<'_>) -> Option<Rc<Record>> {
        self.get_keyed(&PairKey::of(pair))
    }

    /// [`Memory::get`] by the pair's key, made once per webhook ([`PairKey::of`]).
    pub(crate) fn get_keyed(&self, key: &PairKey) -> Option<Rc<Record>> {
        self.entries
            .borrow()
            .iter()
            .find(|e| e.key.is(key))
            .map(|e| Rc::clone(&e.record))
    }

    /// Remembers `record` as the latest of `pair`. It replaces whatever was remembered, even
    /// with a lower sequence: a conversation that started afresh (its cookie expired or was
    /// forged) is the pair's conversation now.
    pub fn remember(&self, pair: &Pair<'_>, record: &Record) {
        self.remember_sealed(&PairKey::of(pair), Rc::new(record.clone()), None);
    }

    /// [`Memory::remember`] by the pair's key, with the cookie value `sealed` for `record`
    /// whole (and when it expires). The value sealed for the record it replaces is kept as
    /// opened: a retry of this message comes with it.
    pub(crate) fn remember_sealed(
        &self,
        key: &PairKey,
        record: Rc<Record>,
        sealed: Option<(String, u64)>,
    ) {
        let mut entries = self.entries.borrow_mut();
        #[cfg_attr(not(cookie_memory), allow(unused_mut))]
        let mut before = entries
            .iter()
            .position(|e| e.key.is(key))
            .map(|i| entries.remove(i));
        #[cfg(not(cookie_memory))]
        let _ = sealed;
        #[cfg(cookie_memory)]
        let opened = before.as_mut().and_then(|b| b.sealed.take());
        // The key the pair had, when it had one: no copy of it.
        let key = before.map_or_else(|| key.clone(), |b| b.key);
        let mut entry = Entry {
            key,
            #[cfg(cookie_memory)]
            sealed: sealed.map(|(value, expires_at)| Known {
                value,
                expires_at,
                // What opening the value gives back: the record, less what sealing leaves out.
                record: record
                    .as_sealed()
                    .map_or_else(|| Rc::clone(&record), Rc::new),
            }),
            #[cfg(cookie_memory)]
            opened,
            record,
            size: 0,
        };
        entry.size = entry.bytes();
        self.admit(&mut entries, entry);
    }

    /// `entry` added as the newest, the oldest others forgotten until the count and the bytes
    /// fit; an entry larger than the whole budget is not kept.
    fn admit(&self, entries: &mut Vec<Entry>, entry: Entry) {
        if entry.size > self.byte_budget {
            return;
        }
        let mut total: usize = entries.iter().map(|e| e.size).sum::<usize>() + entry.size;
        while !entries.is_empty() && (entries.len() >= self.capacity || total > self.byte_budget) {
            total -= entries.remove(0).size;
        }
        entries.push(entry);
    }

    /// What the cookie `value` of `pair` holds, when this isolate sealed or opened it last
    /// for the pair. Compared as [`crate::seal::same_value`] does (the MAC in constant time).
    /// Returns when it expires and the record it opens to.
    #[cfg(cookie_memory)]
    pub(crate) fn known_cookie(&self, key: &PairKey, value: &str) -> Option<(u64, Rc<Record>)> {
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|e| e.key.is(key))?;
        let known = [&entry.sealed, &entry.opened]
            .into_iter()
            .flatten()
            .find(|k| crate::seal::same_value(&k.value, value));
        known.map(|k| (k.expires_at, Rc::clone(&k.record)))
    }

    /// Notes that the cookie `value` of `pair` opened to `record`, valid until `expires_at`,
    /// when the pair is remembered (a pair not remembered has no retry to answer).
    #[cfg(cookie_memory)]
    pub(crate) fn note_opened(
        &self,
        key: &PairKey,
        value: &str,
        expires_at: u64,
        record: &Rc<Record>,
    ) {
        let mut entries = self.entries.borrow_mut();
        let Some(i) = entries.iter().position(|e| e.key.is(key)) else {
            return;
        };
        let others: usize = entries.iter().map(|e| e.size).sum::<usize>() - entries[i].size;
        let entry = &mut entries[i];
        let kept = entry.opened.replace(Known {
            value: value.to_string(),
            expires_at,
            record: Rc::clone(record),
        });
        let size = entry.bytes();
        if others + size > self.byte_budget {
            // Over the budget: the pair keeps what it had rather than evict another for this.
            entry.opened = kept;
            return;
        }
        entry.size = size;
    }

    /// The cookie value sealed for `record` whole, when it is the record remembered for
    /// `pair` and this isolate sealed it: an unchanged record (a retry) seals to the same
    /// payload and expiry, so its cookie is handed out again rather than sealed anew.
    /// Returns what `f` makes of the value and its expiry.
    #[cfg(cookie_memory)]
    pub(crate) fn sealed_for<T>(
        &self,
        key: &PairKey,
        record: &Record,
        f: impl FnOnce(&str, u64) -> T,
    ) -> Option<T> {
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|e| e.key.is(key))?;
        let sealed = entry.sealed.as_ref()?;
        // A retry's record is the one remembered, shared: the same allocation is the same
        // record, without comparing its history turn by turn.
        let same = std::ptr::eq(&*entry.record, record) || *entry.record == *record;
        same.then(|| f(&sealed.value, sealed.expires_at))
    }

    /// Notes that message `sid`'s turn goes on past its webhook's answer.
    ///
    /// ```
    /// use sms_conversation_worker::storage::Memory;
    /// let memory = Memory::default();
    /// memory.start_running("SM1");
    /// assert!(memory.is_running("SM1"));
    /// memory.stop_running("SM1");
    /// assert!(!memory.is_running("SM1"));
    /// ```
    pub fn start_running(&self, sid: &str) {
        let mut running = self.running.borrow_mut();
        if running.len() >= RUNNING {
            running.remove(0);
        }
        running.push(sid.to_string());
    }

    /// Message `sid`'s turn has ended (its record is remembered).
    pub fn stop_running(&self, sid: &str) {
        self.running.borrow_mut().retain(|s| s != sid);
    }

    /// Whether message `sid`'s turn is still running in this isolate.
    pub fn is_running(&self, sid: &str) -> bool {
        self.running.borrow().iter().any(|s| s == sid)
    }

    /// How many pairs are remembered.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// True when no pair is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Bytes remembered: the records (as [`Record::approx_bytes`] counts them), their keys
    /// and the cookie values kept with them.
    pub fn bytes(&self) -> usize {
        self.entries.borrow().iter().map(|e| e.size).sum()
    }
}

/// A pair's key in the memory: its fields, length-prefixed as seal feeds them to its MACs,
/// so no two different pairs share one (these keys never leave the isolate), and a hash of
/// them. Made once per webhook ([`crate::storage::Storage`] keeps it), as a webhook looks its
/// pair up several times.
#[derive(Debug, Clone)]
pub(crate) struct PairKey {
    bytes: Vec<u8>,
    /// Compared first: a look-up goes through every entry, and comparing their keys' bytes
    /// read each from its own allocation, scattered among the records and cookie values; the
    /// hashes lie in the entries, one after the other. With 256 pairs remembered and a new
    /// pair's message (bench/RESULTS.md's counted step), a webhook cost 130 µs of CPU in
    /// workerd instead of 230 with the bytes compared (one interleaved run, 3 rounds,
    /// medians; 157 before the memory kept cookie values and looked pairs up 5 times a
    /// webhook, not 2).
    hash: u64,
}

impl PairKey {
    fn is(&self, other: &PairKey) -> bool {
        self.hash == other.hash && crate::fields::same_bytes(&self.bytes, &other.bytes)
    }

    /// The key of `pair`.
    pub(crate) fn of(pair: &Pair<'_>) -> PairKey {
        use std::hash::{Hash, Hasher};
        let mut bytes = Vec::with_capacity(96);
        crate::fields::length_prefixed([pair.account_sid, pair.to, pair.from], |b| {
            bytes.extend_from_slice(b)
        });
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        PairKey {
            hash: hasher.finish(),
            bytes,
        }
    }
}

#[cfg(test)]
mod tests;
