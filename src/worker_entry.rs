//! The Workers adapter: reads the request, the configuration and the KV binding, calls
//! [`crate::app::handle`], writes the response and one log line, and runs the KV writes
//! after the reply with `ctx.wait_until`. Nothing here decides anything.

use std::cell::OnceCell;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{event, Context, Date, Delay, Env, Headers, Request, Response, Result};

use crate::app::{self, HttpRequest, KvWrite, Store, MAX_BODY_BYTES};
use crate::config::{Config, ConfigError, VARIABLES};
use crate::recent::RecentStates;

/// The optional KV namespace binding (see wrangler.toml).
const KV_BINDING: &str = "CONVERSATIONS";
/// Twilio waits 15 s for an answer; a KV read that takes longer than this is treated as a
/// fault so the reply still goes out from what the cookie holds.
const KV_READ_TIMEOUT: Duration = Duration::from_secs(3);

type Loaded = std::result::Result<Config, ConfigError>;

thread_local! {
    /// Vars and secrets cannot change within an isolate, so the configuration (and the
    /// HKDF key derivation inside it) is done once, on the first request, and kept for
    /// the isolate's life (leaked once, so requests borrow it across `.await`s).
    static CONFIG: OnceCell<&'static Loaded> = const { OnceCell::new() };
    /// The states this isolate answered last, against stale cookies (see `recent`).
    static RECENT: &'static RecentStates = Box::leak(Box::default());
}

fn load_config(env: &Env) -> Loaded {
    let config = Config::from_lookup(|name| {
        debug_assert!(VARIABLES.contains(&name));
        env.secret(name)
            .ok()
            .map(|s| s.to_string())
            .or_else(|| env.var(name).ok().map(|v| v.to_string()))
    });
    let problem = match &config {
        Ok(c) => c.missing_token_error(),
        Err(e) => Some(e.clone()),
    };
    if let Some(e) = problem {
        // Once per isolate: the variable's name and the problem, never its value.
        worker::console_error!(
            "{{\"event\":\"config\",\"error\":{}}}",
            serde_json::to_string(&format!("misconfigured: {e}")).unwrap_or_default()
        );
    }
    config
}

#[wasm_bindgen]
extern "C" {
    /// The three calls of the Workers KV binding API this worker makes. Bound directly
    /// rather than through `worker::kv::KvStore`, whose option objects go through
    /// serde_wasm_bindgen and serde_json values: kilobytes of wasm for `{type: "text"}`.
    type KvNamespace;
    #[wasm_bindgen(method, catch)]
    fn get(this: &KvNamespace, key: &str) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn put(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &Object,
    ) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn delete(this: &KvNamespace, key: &str) -> std::result::Result<Promise, JsValue>;
}

fn kv_binding(env: &Env) -> Option<KvNamespace> {
    let binding = Reflect::get(env, &JsValue::from_str(KV_BINDING)).ok()?;
    (!binding.is_undefined() && !binding.is_null()).then(|| binding.unchecked_into())
}

/// A JS exception's message, for the log.
fn js_error(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "KV call failed".into())
}

async fn call(
    promise: std::result::Result<Promise, JsValue>,
) -> std::result::Result<JsValue, String> {
    JsFuture::from(promise.map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| js_error(&e))
}

/// The `CONVERSATIONS` namespace, with reads bounded in time.
struct Kv<'a>(&'a KvNamespace);

impl Store for Kv<'_> {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, String> {
        let read = Box::pin(call(self.0.get(key)));
        match select(read, Delay::from(KV_READ_TIMEOUT)).await {
            // `get(key)` resolves to the text, or null when the key is absent.
            Either::Left((result, _)) => result.map(|v| v.as_string()),
            Either::Right(_) => Err("KV read timed out".into()),
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
            worker::console_error!(
                "{{\"event\":\"kv_write\",\"error\":{}}}",
                serde_json::to_string(&e).unwrap_or_default()
            );
        }
    }
}

/// Reads a body whose `Content-Length` is within the limit in one call (workerd holds the
/// body to its declared length): streaming it costs about 40 µs more CPU per webhook.
async fn read_declared_body(req: &web_sys::Request) -> Result<Vec<u8>> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Reads at most `MAX_BODY_BYTES + 1` bytes of a body of unannounced length (chunked):
/// enough to tell an oversized body apart without buffering all of it.
async fn read_streamed_body(req: web_sys::Request) -> Result<Vec<u8>> {
    let mut req = Request::from(req);
    let mut body = Vec::new();
    let mut stream = req.stream()?;
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_BODY_BYTES {
            break;
        }
    }
    Ok(body)
}

#[event(start)]
fn start() {
    // panic = "abort" ends the isolate; the hook at least puts the message in `wrangler tail`.
    console_error_panic_hook::set_once();
}

// The raw `web_sys::Request`: `worker::Request` would read `request.cf` on every request,
// and its URL accessor parses with the `url` crate (IDNA tables in the wasm).
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let content_type = header("content-type");
    let signature = header("x-twilio-signature");
    let cookie = header("cookie");
    let url = req.url();
    let method = req.method();

    // An announced oversized body is refused without reading it; an unannounced one
    // is read only up to the limit.
    let declared = header("content-length").and_then(|l| l.trim().parse::<usize>().ok());
    let body = match (method == "POST", declared) {
        (false, _) => Vec::new(),
        (true, Some(len)) if len > MAX_BODY_BYTES => vec![0; MAX_BODY_BYTES + 1],
        (true, Some(_)) => read_declared_body(&req).await.unwrap_or_default(),
        (true, None) => read_streamed_body(req).await.unwrap_or_default(),
    };

    let config: &'static Loaded =
        CONFIG.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(load_config(&env)))));
    let kv = kv_binding(&env);
    let store = kv.as_ref().map(Kv);
    let recent: &'static RecentStates = RECENT.with(|r| *r);
    let outcome = app::handle_with(
        config.as_ref(),
        &HttpRequest {
            method: &method,
            url: &url,
            content_type: content_type.as_deref(),
            signature: signature.as_deref(),
            cookie: cookie.as_deref(),
            body: &body,
        },
        started / 1000,
        store.as_ref(),
        Some(recent),
    )
    .await;
    let response = outcome.response;

    if let (Some(kv), false) = (kv, outcome.writes.is_empty()) {
        ctx.wait_until(run_writes(kv, outcome.writes));
    }
    if let Some(error) = &response.log.kv_error {
        worker::console_error!(
            "{{\"event\":\"kv_read\",\"error\":{}}}",
            serde_json::to_string(error).unwrap_or_default()
        );
    }
    let elapsed = Date::now().as_millis().saturating_sub(started);
    worker::console_log!("{}", response.log.to_json(response.status, elapsed));

    let out = Headers::new();
    out.set("content-type", response.content_type)?;
    if let Some(cookie) = &response.set_cookie {
        out.set("set-cookie", cookie)?;
    }
    if let Some(allow) = response.allow {
        out.set("allow", allow)?;
    }
    Ok(Response::ok(response.body)?
        .with_status(response.status)
        .with_headers(out))
}
