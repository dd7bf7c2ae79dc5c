//! Replies that outlast the webhook's budget with Workers KV alone (the `CONVERSATIONS`
//! namespace bound, no objects), sent from `ctx.waitUntil`.
//!
//! Twilio waits 15 s for a webhook's answer, and a late answer is lost. With KV bound, no
//! objects and the Messages API's credentials, the conversation's outside calls keep their
//! own timeouts and the turn is raced against the budget's deadline ([`LateRace`]). When the
//! deadline wins, the webhook is answered with empty TwiML and a pointer cookie to a fresh KV
//! key: the turn goes on, and when it has its reply its record goes to KV (under that key and
//! the pair's), then each message of the reply goes to the person through the Messages API,
//! in order, once. The next webhook follows the pointer, so it reads KV before the cookie.
//!
//! A retry of a message whose reply is on its way gets empty TwiML: the isolate remembers the
//! messages it is still answering, and a late turn's record keeps an empty answer for its
//! message (the reply went through the Messages API; the turn in the history keeps it).

use std::cell::{Cell, RefCell};

use crate::response::HttpResponse;

#[cfg(feature = "kv")]
mod kv;
#[cfg(not(feature = "kv"))]
mod off;

#[cfg(feature = "kv")]
pub(super) use kv::{kept_late, Late, BEHIND, BEHIND_DETAIL};
#[cfg(not(feature = "kv"))]
pub(super) use off::{kept_late, Late, BEHIND, BEHIND_DETAIL};

/// Who answers a message: the turn, in the webhook's TwiML, or (once the deadline has won)
/// the Messages API from `waitUntil`. Shared by the turn and the adapter's timer, so that
/// exactly one of them decides. One per webhook.
///
/// ```
/// use sms_conversation_worker::app::LateRace;
/// // The adapter's timer fires before the turn could offer an early answer: the turn is
/// // then waited for, and its outside calls are cut at the budget.
/// let race = LateRace::default();
/// assert!(race.expire().is_none());
/// ```
#[derive(Debug, Default)]
pub struct LateRace {
    decided: Cell<Decided>,
    early: RefCell<Option<HttpResponse>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "kv"), allow(dead_code))] // Only the KV late path offers and claims.
enum Decided {
    #[default]
    Open,
    /// The turn may go late: its early answer waits for the deadline.
    Offered,
    /// The deadline came before any offer: the turn answers in time, cut at the budget.
    Waited,
    /// The turn answers in the TwiML.
    InTime,
    /// The deadline won: the reply goes through the Messages API.
    Late,
}

impl LateRace {
    /// The deadline has come (the adapter's timer): the early answer to give Twilio now when
    /// the turn had offered one (its reply then goes late), else `None`: the turn is waited
    /// for, as it answers in time itself.
    pub fn expire(&self) -> Option<HttpResponse> {
        match self.decided.get() {
            Decided::Offered => {
                self.decided.set(Decided::Late);
                self.early.borrow_mut().take()
            }
            Decided::Open => {
                self.decided.set(Decided::Waited);
                None
            }
            _ => None,
        }
    }

    /// The turn offers `early` for the deadline: true when it may now go late (its outside
    /// calls keep their own timeouts), false when the deadline came first.
    #[cfg_attr(not(feature = "kv"), allow(dead_code))]
    fn offer(&self, early: HttpResponse) -> bool {
        if self.decided.get() != Decided::Open {
            return false;
        }
        self.decided.set(Decided::Offered);
        *self.early.borrow_mut() = Some(early);
        true
    }

    /// The turn has its reply: true when it goes late (the adapter's timer expired the race,
    /// or `passed` says the deadline is behind: natively, where nothing runs beside a turn).
    #[cfg_attr(not(feature = "kv"), allow(dead_code))]
    fn claim(&self, passed: bool) -> bool {
        if self.decided.get() == Decided::Offered {
            self.decided.set(if passed {
                Decided::Late
            } else {
                Decided::InTime
            });
        }
        self.decided.get() == Decided::Late
    }
}
