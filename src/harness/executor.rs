//! Running the worker's futures natively: none waits on the outside world.

use std::future::Future;
use std::task::{Context as TaskContext, Poll, Waker};

use crate::conversation::AfterReply;

/// Runs a future that never waits on the outside world (the fakes below answer at once).
///
/// # Panics
/// When the future stays pending: it waits on something only a real runtime drives.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something the test harness cannot drive (a real timer or socket)")
}

/// Runs the work handed over after the reply, as the worker's `wait_until` does; `name:
/// error` of each task that failed, numbers masked as the worker logs it.
pub(super) fn run_after_reply(tasks: Vec<AfterReply>) -> Vec<String> {
    tasks
        .into_iter()
        .filter_map(|task| {
            block_on(task.work)
                .err()
                .map(|e| format!("{}: {}", task.name, crate::mask::mask_numbers(&e)))
        })
        .collect()
}
