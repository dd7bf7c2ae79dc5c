//! The time a webhook's answer may take, from the webhook's arrival: Twilio waits 15 s, then
//! logs error 11200 and the person gets nothing, so the worker answers within
//! `REPLY_BUDGET_SECONDS` (10 s by default) whatever the conversation does.

use std::time::Duration;

/// The runtime's clock in milliseconds since the Unix epoch: `Date.now()` in the worker, the
/// test phone's clock moved on by each fake call's delay in native tests. Borrowed, so that a
/// budget is copied rather than counted (every webhook carries one, whether or not its
/// conversation calls out).
pub type Clock<'a> = &'a dyn Fn() -> u64;

/// The deadline of one webhook's answer and the clock it is measured on.
///
/// A budget that *cuts* holds every outside call of the conversation to the time left
/// (a request's timeout becomes the shorter of its own and that), so that the conversation
/// sees a [`ClientError::Timeout`](super::ClientError::Timeout) it can answer, in time.
/// One that does not cut only tells when the answer is late: where a late reply is sent on
/// its own through the Messages API (inside the pair's Durable Object, or from `waitUntil`
/// with KV alone).
///
/// ```
/// use std::time::Duration;
/// use sms_conversation_worker::conversation::Budget;
///
/// let budget = Budget::new(10_000, &|| 7_500);
/// assert_eq!(budget.left(), Duration::from_millis(2_500));
/// assert!(!budget.passed());
/// assert_eq!(budget.cap(Duration::from_secs(5)), Duration::from_millis(2_500));
/// // Without cutting, a request keeps its own timeout.
/// assert_eq!(budget.cutting(false).cap(Duration::from_secs(5)), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy)]
pub struct Budget<'a> {
    deadline_ms: u64,
    clock: Clock<'a>,
    cuts: bool,
}

impl<'a> Budget<'a> {
    /// A budget ending at `deadline_ms` on `clock`, cutting outside calls to the time left.
    pub fn new(deadline_ms: u64, clock: Clock<'a>) -> Budget<'a> {
        Budget {
            deadline_ms,
            clock,
            cuts: true,
        }
    }

    /// The same budget, cutting outside calls (`true`) or only telling the time (`false`).
    pub fn cutting(mut self, cuts: bool) -> Budget<'a> {
        self.cuts = cuts;
        self
    }

    /// The same clock with another deadline (an object's, from the worker's call).
    pub fn until(&self, deadline_ms: u64) -> Budget<'a> {
        Budget::new(deadline_ms, self.clock)
    }

    /// The deadline, in milliseconds since the Unix epoch.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// The clock's time now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// The time left before the deadline (zero once it passed).
    pub fn left(&self) -> Duration {
        Duration::from_millis(self.deadline_ms.saturating_sub(self.now_ms()))
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.now_ms() > self.deadline_ms
    }

    /// A request's `timeout` under this budget: the shorter of it and the time left when the
    /// budget cuts, else `timeout` itself.
    pub fn cap(&self, timeout: Duration) -> Duration {
        if self.cuts {
            timeout.min(self.left())
        } else {
            timeout
        }
    }
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("deadline_ms", &self.deadline_ms)
            .field("cuts", &self.cuts)
            .finish()
    }
}
