//! The evaluator's bounds, in a file of their own below the stages that keep them (`tags`,
//! `render`): they need nothing of `mod.rs`, which calls those stages.

use std::cell::Cell;

/// Studio's loop limit.
pub const MAX_LOOP: usize = 15;
/// Output beyond this is cut, and spends the budget: a template cannot make a reply or a
/// request body unbounded.
pub(super) const MAX_OUTPUT: usize = 64 * 1024;
/// Tags nested deeper than this are refused (no stack to overflow on odd input).
pub(super) const MAX_DEPTH: usize = 64;
/// The longest string a filter, `assign` or `capture` may make: a template that doubles a
/// string 26 times stops at this, not at 512 MiB.
pub const MAX_STRING: usize = 64 * 1024;
/// The units of work one event's templates may take together: a node is 1, a filter call
/// [`FILTER_COST`], a loop round [`ROUND_COST`]. Studio caps each loop at 15 rounds, but
/// nested loops multiply (six deep is 11.4 M rounds); this bounds their product, and a flow
/// rendering templates in a loop of widgets, at a few milliseconds of CPU. Measured
/// natively (release): six nested loops, or chains of filters in four, spend it in about
/// 3 ms (a loop round, with its `forloop` object, costs about 250 ns, a filter up to
/// 350 ns); 100,000 units took 27 ms.
pub const MAX_WORK: u32 = 20_000;
/// What a filter call costs: it may allocate a string or an array.
pub(super) const FILTER_COST: u32 = 2;
/// What a loop round costs: its variable and `forloop` object are set anew.
pub(super) const ROUND_COST: u32 = 5;
/// The bytes one event's templates may render together (each template is cut at 64 KiB).
pub const MAX_RENDERED: usize = 1024 * 1024;

/// What one event's templates may still spend: shared by every template a pass through the
/// flow renders, so that neither one template nor a thousand widgets' worth of them can
/// take more than a few milliseconds or a few MB. Spent, it stays spent: every template
/// after renders empty, and the runner stops the execution and logs why.
///
/// It also carries the event's moment, which `"now" | date` prints: the templates never
/// read a clock themselves (`SystemTime::now()` panics on wasm32), the runner passes the
/// conversation's `Context::now`.
#[derive(Debug)]
pub struct Budget {
    work: Cell<u32>,
    rendered: Cell<usize>,
    spent: Cell<Option<&'static str>>,
    now: Option<u64>,
}

impl Default for Budget {
    /// A full budget with no clock: `"now" | date` is left as written.
    fn default() -> Self {
        Budget {
            work: Cell::new(MAX_WORK),
            rendered: Cell::new(MAX_RENDERED),
            spent: Cell::new(None),
            now: None,
        }
    }
}

impl Budget {
    /// A full budget for an event that happened at `now` (Unix seconds).
    pub fn at(now: u64) -> Budget {
        let now = Some(now);
        Budget {
            now,
            ..Budget::default()
        }
    }

    /// The event's moment (Unix seconds), when the renderer was given one.
    pub(super) fn now(&self) -> Option<u64> {
        self.now
    }

    /// Why the budget is spent, if it is.
    pub fn spent(&self) -> Option<&'static str> {
        self.spent.get()
    }

    /// Takes `units` of work: `false` (and spent) when there is not that much left.
    pub(super) fn work(&self, units: u32) -> bool {
        if self.spent.get().is_some() {
            return false;
        }
        match self.work.get().checked_sub(units) {
            Some(left) => {
                self.work.set(left);
                true
            }
            None => self.spend("templates took more than their 20,000 units of work"),
        }
    }

    /// A string of `len` bytes was made: `false` (and spent) when it is over [`MAX_STRING`].
    pub(super) fn string(&self, len: usize) -> bool {
        len <= MAX_STRING || self.spend("a template made a string over 64 KiB")
    }

    /// A template rendered `len` bytes: `false` (and spent) past [`MAX_RENDERED`] in all.
    pub(super) fn rendered(&self, len: usize) -> bool {
        match self.rendered.get().checked_sub(len) {
            Some(left) => {
                self.rendered.set(left);
                true
            }
            None => self.spend("templates rendered more than 1 MiB"),
        }
    }

    /// Spends the budget for `why`, keeping the first reason; always `false`.
    pub(super) fn spend(&self, why: &'static str) -> bool {
        if self.spent.get().is_none() {
            self.spent.set(Some(why));
        }
        false
    }
}
