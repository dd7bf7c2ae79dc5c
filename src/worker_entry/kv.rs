//! The `CONVERSATIONS` KV namespace (feature `kv`): reads bounded in time, writes after the
//! reply.

use std::time::Duration;

use futures_util::future::{select, Either};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::js::{self, ExecutionContext};
use super::Incoming;
use crate::platform::call;
use crate::platform::Sleep;
use crate::storage::{KvWrite, Store, StoreError};

/// The optional KV namespace binding (see wrangler.toml), as a Durable Object finds it;
/// the JS entry reads it as `env.CONVERSATIONS` for the webhook.
#[cfg(feature = "objects")]
const KV_BINDING: &str = "CONVERSATIONS";
/// Twilio waits 15 s for an answer; a KV read that takes longer than this is treated as a
/// fault so the reply still goes out from what the cookie holds.
const KV_READ_TIMEOUT: Duration = Duration::from_secs(3);

#[wasm_bindgen]
extern "C" {
    /// The three calls of the Workers KV binding API this worker makes. Bound directly
    /// rather than through `worker::kv::KvStore`, whose option objects go through
    /// serde_wasm_bindgen and serde_json values: kilobytes of wasm for `{type: "text"}`.
    pub type KvNamespace;
    #[wasm_bindgen(method, catch)]
    pub(super) fn get(this: &KvNamespace, key: &str) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(super) fn put(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &Object,
    ) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    pub(super) fn delete(this: &KvNamespace, key: &str) -> std::result::Result<Promise, JsValue>;

}

/// The webhook's namespace, when bound (`env.CONVERSATIONS`, looked up by the JS entry).
pub(super) fn binding(req: &Incoming) -> Option<Kv> {
    super::bound(&req.kv).then(|| Kv(req.kv.clone().unchecked_into()))
}

/// A Durable Object's namespace, from its `env`.
#[cfg(feature = "objects")]
pub(super) fn from_env(env: &JsValue) -> Option<Kv> {
    let binding = Reflect::get(env, &JsValue::from_str(KV_BINDING)).ok()?;
    (!binding.is_undefined() && !binding.is_null()).then(|| Kv(binding.unchecked_into()))
}

/// Runs `writes` after the reply.
pub(super) fn schedule(ctx: &ExecutionContext, kv: Option<Kv>, writes: Vec<KvWrite>) {
    if let (Some(kv), false) = (kv, writes.is_empty()) {
        js::wait_until(ctx, run_writes(kv.0, writes));
    }
}

/// Runs `writes` now: a late turn's, already in `wait_until`, before its reply is sent.
pub(super) async fn write_now(kv: Option<Kv>, writes: Vec<KvWrite>) {
    if let Some(kv) = kv {
        run_writes(kv.0, writes).await;
    }
}

/// The `CONVERSATIONS` namespace, with reads bounded in time.
pub(super) struct Kv(KvNamespace);

impl Store for Kv {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        let read = Box::pin(call(self.0.get(key)));
        match select(read, Sleep::new(KV_READ_TIMEOUT)).await {
            // `get(key)` resolves to the text, or null when the key is absent.
            Either::Left((result, _)) => result.map(|v| v.as_string()).map_err(StoreError::Failed),
            Either::Right(_) => Err(StoreError::TimedOut),
        }
    }
}

async fn run_writes(kv: KvNamespace, writes: Vec<KvWrite>) {
    for write in writes {
        let result = match &write {
            KvWrite::Put {
                key,
                value,
                ttl_seconds,
            } => {
                let options = Object::new();
                // Setting a property of a fresh plain object cannot fail.
                let _ = Reflect::set(
                    &options,
                    &JsValue::from_str("expirationTtl"),
                    &JsValue::from_f64(*ttl_seconds as f64),
                );
                call(kv.put(key, value, &options)).await
            }
            KvWrite::Delete { key } => call(kv.delete(key)).await,
        };
        if let Err(e) = result {
            // Rate limits (1 write/s per key) land here too: the cookie still holds the
            // state, so a failed write only weakens recovery.
            js::log_event_error("kv_write", &e);
        }
    }
}
