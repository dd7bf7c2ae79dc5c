//! Bench builds only (feature `bench-stages`): the stages of `src/bench_stages.rs` run again
//! after the worker answered, and the adapter's own (reading the request's fields across the
//! boundary, the answer string, handing it back to JavaScript), chosen by the vars
//! `BENCH_STAGE` and `BENCH_REPEAT` (read once per isolate). `BENCH_STAGE=canned` answers a
//! request seen before with its answer kept from the first time, reading only its signature:
//! what the JS entry and the crossing into wasm cost with no work behind them.
//! `BENCH_STAGE=early` and `BENCH_STAGE=handled` answer the same kept answer later on the path,
//! after the request's fields are read across (and the isolate's setup and bindings looked
//! up), and after `app::handle` ran: the differences between them, `canned` and the shipped
//! path are what each part costs **in place**, once per request, where a stage looped `n`
//! times runs warm. `BENCH_STAGE=full` answers as the shipped build does, through the bench
//! build's hooks: the last cut's reference, and what the hooks themselves cost.

use std::cell::{OnceCell, RefCell};
use std::hint::black_box;

use wasm_bindgen::JsValue;

use super::{answer_text, js, Incoming, Loaded, Read};
use crate::app::Runtime;
use crate::response::HttpResponse;
use crate::storage::Store;

thread_local! {
    /// `BENCH_STAGE` and `BENCH_REPEAT`.
    static PLAN: OnceCell<(String, u32)> = const { OnceCell::new() };
    /// `canned`: the answers given, by `X-Twilio-Signature`.
    static CANNED: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// The signature of the request being answered, for [`keep`].
    static SIGNATURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn plan(req: &Incoming) -> (String, u32) {
    PLAN.with(|p| {
        p.get_or_init(|| {
            let stage = js::var(&req.env, "BENCH_STAGE").unwrap_or_default();
            let n = js::var(&req.env, "BENCH_REPEAT").and_then(|n| n.parse().ok());
            (stage, n.unwrap_or(0))
        })
        .clone()
    })
}

/// The stages that answer with a kept answer, each at its own point of the path.
const KEEPING: [&str; 3] = ["canned", "early", "handled"];

/// With `BENCH_STAGE=canned`, the answer kept for this request's signature. Every request of
/// a bench build passes here first: with a stage of [`KEEPING`], its signature is noted for
/// [`keep`].
pub(super) fn canned(req: &Incoming) -> Option<String> {
    let signature = req.read.signature();
    if KEEPING.contains(&plan(req).0.as_str()) {
        SIGNATURE.with(|s| s.replace(signature.map(str::to_string)));
    }
    cut("canned", signature)
}

/// With `BENCH_STAGE` `at`, the answer kept for `signature` (the plan was read by [`canned`]).
pub(super) fn cut(at: &str, signature: Option<&str>) -> Option<String> {
    if !PLAN.with(|p| p.get().is_some_and(|(stage, _)| stage == at)) {
        return None;
    }
    let signature = signature?;
    CANNED.with(|c| {
        let kept = c.borrow();
        kept.iter()
            .find(|(s, _)| *s == signature)
            .map(|(_, a)| a.clone())
    })
}

/// With a stage of [`KEEPING`], keeps `answer` for the signature of the request it answers
/// (noted by [`canned`]).
pub(super) fn keep(answer: &str) {
    let keeping = PLAN.with(|p| {
        p.get()
            .is_some_and(|(stage, _)| KEEPING.contains(&stage.as_str()))
    });
    if let (true, Some(signature)) = (keeping, SIGNATURE.with(|s| s.take())) {
        CANNED.with(|c| c.borrow_mut().push((signature, answer.to_string())));
    }
}

/// Runs `BENCH_STAGE` `BENCH_REPEAT` times more over the request just answered.
pub(super) async fn repeat<S: Store>(
    req: &Incoming,
    setup: &Loaded,
    rt: &Runtime<'_, S>,
    response: &HttpResponse,
) {
    let (stage, n) = plan(req);
    // Nothing to repeat: no fixture either, so the in-place cuts and `full` answer as the
    // shipped build does (`prepare` is the fixture alone, what the stages are measured from).
    if n == 0 && stage != "prepare" {
        return;
    }
    let Ok(setup) = setup else { return };
    let mut sum = 0;
    for _ in 0..n {
        sum += match stage.as_str() {
            "read" => {
                let read = black_box(&req.read);
                let head = read.head.as_bytes().to_vec();
                Read::new(head, read.present, read.body.clone(), read.body_state)
                    .request()
                    .method
                    .len()
            }
            "json" => answer_text(black_box(response), "{}").len(),
            "out" => usize::from(JsValue::from_str(black_box(&response.body)).is_string()),
            _ => 0,
        };
    }
    let request = req.read.request();
    sum += crate::bench_stages::repeat(&stage, n, setup, &request, rt).await;
    black_box(sum);
}
