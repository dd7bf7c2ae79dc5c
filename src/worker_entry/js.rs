//! The few runtime calls every worker makes (`console`, `setTimeout`, `ctx.waitUntil`, the
//! environment's vars), bound directly: the `worker` crate's exports (streams, R2, containers'
//! classes) are roots the linker keeps, so only the `objects` feature, whose Durable Object
//! class is worker's, links it.

use std::future::Future;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The fetch handler's `ctx`.
    pub type ExecutionContext;
    #[wasm_bindgen(method, js_name = waitUntil)]
    fn wait_until(this: &ExecutionContext, promise: &Promise);

    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(line: &str);
}

/// A log line (`wrangler tail`, the dev server's output).
pub(super) fn log(line: &str) {
    console_log(line);
}

/// An error's log line.
pub(super) fn log_error(line: &str) {
    console_error(line);
}

/// `{"event": event, "error": error}`, logged as an error.
pub(super) fn log_event_error(event: &str, error: &dyn std::fmt::Display) {
    log_error(&format!(
        "{{\"event\":{},\"error\":{}}}",
        serde_json::to_string(event).unwrap_or_default(),
        serde_json::to_string(&error.to_string()).unwrap_or_default()
    ));
}

/// Hands `work` to the runtime to finish after the response (`ctx.waitUntil`).
pub(super) fn wait_until(ctx: &ExecutionContext, work: impl Future<Output = ()> + 'static) {
    ctx.wait_until(&wasm_bindgen_futures::future_to_promise(async move {
        work.await;
        Ok(JsValue::UNDEFINED)
    }));
}

/// A var or secret of the worker by name (both are strings on `env`).
pub(super) fn var(env: &JsValue, name: &str) -> Option<String> {
    Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
}
