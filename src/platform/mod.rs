//! The Workers runtime's own primitives that the core calls directly, wasm32 only: `fetch`
//! and timers. A bottom room: the conversation API's `Context::fetch` calls [`fetch`] here,
//! statically, so a conversation that never makes a request carries none of fetch's code
//! (about 3 KB of gzipped wasm); the adapter (`worker_entry/`) uses the same primitives.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

mod fetch;
mod timer;

pub(crate) use fetch::send as fetch;
pub(crate) use timer::Sleep;

/// A JS exception's message, for the log (KV, objects and `fetch` calls).
pub(crate) fn js_error(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the call failed".into())
}

pub(crate) async fn call(
    promise: std::result::Result<Promise, JsValue>,
) -> std::result::Result<JsValue, String> {
    JsFuture::from(promise.map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| js_error(&e))
}
