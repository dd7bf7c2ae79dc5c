//! A turn raced against its webhook's deadline with KV alone (feature `kv`): the core decides
//! whether the reply may go late ([`LateRace`], `pipeline/late.rs`); here the timer fires it,
//! and a turn that goes late finishes in `ctx.waitUntil`: its KV writes, then its reply
//! through the Messages API, then the conversation's after-reply work.

use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "kv")]
use std::task::Poll;
use std::time::Duration;

#[cfg(feature = "kv")]
use futures_util::future::{select, Either};

use super::js;
use crate::app::LateRace;
#[cfg(feature = "kv")]
use crate::platform::Sleep;
use crate::response::{Handled, HttpResponse};
#[cfg(feature = "kv")]
use crate::response::{LogEvent, Outcome};

/// What the race of a turn against its deadline gave.
pub(super) enum Raced<T> {
    /// The turn's own answer (in time, or waited for: it could not go late).
    Done(Handled),
    /// The deadline won: the early answer now, and the turn to finish after it.
    #[cfg_attr(not(feature = "kv"), allow(dead_code))]
    Late(HttpResponse, T),
}

/// Without KV no reply goes late here: the turn's own answer, and no timer in the wasm.
#[cfg(not(feature = "kv"))]
pub(super) async fn race<F: Future<Output = Handled>>(
    turn: Pin<Box<F>>,
    _: impl FnOnce() -> Option<Duration>,
    _: &LateRace,
) -> Raced<Pin<Box<F>>> {
    Raced::Done(turn.await)
}

/// Races `turn` against `left` (the time to the budget's deadline). The turn is polled once
/// first: a webhook answered from its cookie waits on nothing, arms no timer and does not read
/// the clock (a call out to JavaScript).
#[cfg(feature = "kv")]
pub(super) async fn race<F: Future<Output = Handled>>(
    mut turn: Pin<Box<F>>,
    left: impl FnOnce() -> Option<Duration>,
    race: &LateRace,
) -> Raced<Pin<Box<F>>> {
    let first = std::future::poll_fn(|cx| Poll::Ready(turn.as_mut().poll(cx))).await;
    if let Poll::Ready(handled) = first {
        return Raced::Done(handled);
    }
    let Some(left) = left() else {
        return Raced::Done(turn.await);
    };
    match select(turn, Sleep::new(left)).await {
        Either::Left((handled, _)) => Raced::Done(handled),
        Either::Right((_, turn)) => match race.expire() {
            Some(early) => Raced::Late(early, turn),
            // No early answer was offered: the turn's calls are cut, it answers in time.
            None => Raced::Done(turn.await),
        },
    }
}

/// The answer of a turn that went late of itself (it ended past the deadline before the
/// timer fired), taken out of `handled`, whose log line it carries.
#[cfg(feature = "kv")]
pub(super) fn take_response(handled: &mut Handled) -> HttpResponse {
    let none = LogEvent::new(Outcome::Late, None);
    std::mem::replace(
        &mut handled.response,
        HttpResponse::text(200, String::new(), none),
    )
}

/// The rest of a turn that went late, in `waitUntil`: its KV writes first (so the next
/// webhook finds the state), then the reply's send with its `late_reply` log line, then the
/// conversation's after-reply work.
pub(super) async fn finish(turn: impl Future<Output = Handled>, kv: Option<super::kv::Kv>) {
    let handled = turn.await;
    // The early answer's line said `late`; what the turn learnt after it is said here.
    super::log_errors(&handled.response);
    let notes = &handled.response.log.notes;
    if !notes.is_empty() {
        js::log(&format!(
            "{{\"event\":\"late_turn\",\"notes\":{{{notes}}}}}"
        ));
    }
    super::kv::write_now(kv, handled.writes).await;
    if let Some(late) = handled.late_reply {
        match late.send().await {
            Ok(line) => js::log(&line),
            Err(line) => js::log_error(&line),
        }
    }
    super::run_after_reply(handled.after_reply).await;
}
