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

/// A remembered pair: its key, its record and the bytes it counts for.
type Entry = (Vec<u8>, Rc<Record>, usize);

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
        let key = key(pair);
        self.entries
            .borrow()
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, r, _)| Rc::clone(r))
    }

    /// Remembers `record` as the latest of `pair`. It replaces whatever was remembered, even
    /// with a lower sequence: a conversation that started afresh (its cookie expired or was
    /// forged) is the pair's conversation now.
    pub fn remember(&self, pair: &Pair<'_>, record: &Record) {
        let key = key(pair);
        let mut entries = self.entries.borrow_mut();
        entries.retain(|(k, _, _)| *k != key);
        let size = key.len() + record.approx_bytes();
        if size > self.byte_budget {
            return;
        }
        let mut total: usize = entries.iter().map(|(_, _, s)| s).sum::<usize>() + size;
        while !entries.is_empty() && (entries.len() >= self.capacity || total > self.byte_budget) {
            total -= entries.remove(0).2;
        }
        entries.push((key, Rc::new(record.clone()), size));
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

    /// Bytes of records remembered (as [`Record::approx_bytes`] counts them).
    pub fn bytes(&self) -> usize {
        self.entries.borrow().iter().map(|(_, _, s)| s).sum()
    }
}

/// The pair's fields, length-prefixed as seal feeds them to its MACs, so no two different
/// pairs share a key. These keys never leave the isolate.
fn key(pair: &Pair<'_>) -> Vec<u8> {
    let mut key = Vec::with_capacity(96);
    crate::fields::length_prefixed([pair.account_sid, pair.to, pair.from], |bytes| {
        key.extend_from_slice(bytes)
    });
    key
}

#[cfg(test)]
mod tests;
