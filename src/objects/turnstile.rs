//! The turn lock: one message at a time in an object (feature `objects`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

/// One message at a time: requests to an object interleave wherever one awaits outside
/// the object's storage (a conversation calling out, a Messages API send), so each webhook
/// holds this turnstile from loading the record to saving it.
#[derive(Default)]
pub(crate) struct Turnstile {
    busy: Cell<bool>,
    waiting: RefCell<VecDeque<Rc<Cell<Option<Waker>>>>>,
}

impl Turnstile {
    /// Waits for the turn, in arrival order.
    pub(crate) async fn enter(&self) -> TurnGuard<'_> {
        if self.busy.replace(true) {
            let slot = Rc::new(Cell::new(None));
            self.waiting.borrow_mut().push_back(Rc::clone(&slot));
            WaitTurn { slot, done: false }.await;
        }
        TurnGuard { turnstile: self }
    }
}

pub(super) struct WaitTurn {
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
pub(crate) struct TurnGuard<'a> {
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
