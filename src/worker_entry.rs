//! The Workers adapter: takes the request's parts from the JS entry (`src/entry.mjs`), reads
//! the configuration and the KV binding, calls [`crate::app::handle`], hands back the
//! response and its log line in one string, and runs the KV writes and the conversation's
//! after-reply work with `ctx.wait_until`. Nothing here decides anything.

use std::cell::OnceCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use futures_util::future::{select, Either};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{
    durable_object, event, Context, Date, Delay, DurableObject, Env, ObjectNamespace, Request,
    Response, Result, State,
};

use crate::app::{self, Body, HttpRequest, Runtime, Setup};
use crate::conversation::{
    AfterReply, ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture,
};
use crate::objects::{
    self, ObjectAnswer, ObjectError, ObjectStore, Objects, StartCall, Turnstile, WebhookCall,
};
use crate::response::HttpResponse;
use crate::storage::{KvWrite, Memory, Store, StoreError};
use crate::vars::{ConfigError, Vars};

/// The optional KV namespace binding (see wrangler.toml).
const KV_BINDING: &str = "CONVERSATIONS";
/// Twilio waits 15 s; an object that has not answered in this long is treated as
/// unreachable and the worker answers from the cookie in the time left.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(8);
/// Twilio waits 15 s for an answer; a KV read that takes longer than this is treated as a
/// fault so the reply still goes out from what the cookie holds.
const KV_READ_TIMEOUT: Duration = Duration::from_secs(3);

type Loaded = std::result::Result<Setup, ConfigError>;

thread_local! {
    /// Vars and secrets cannot change within an isolate, so the configuration (and the
    /// HKDF key derivation inside it) is done once, on the first request, and kept for
    /// the isolate's life (leaked once, so requests borrow it across `.await`s).
    static SETUP: OnceCell<&'static Loaded> = const { OnceCell::new() };
    /// The records this isolate answered last, against stale cookies and replays.
    static MEMORY: &'static Memory = Box::leak(Box::default());
    /// Whether this isolate already said that follow-ups need the objects binding.
    static FOLLOW_UP_WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn setup(env: &Env) -> &'static Loaded {
    SETUP.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(load_setup(env)))))
}

/// The `CONVERSATION_OBJECTS` namespace, reached with `stub.fetch`, each call bounded by
/// [`OBJECT_TIMEOUT`].
struct ObjectsBinding(ObjectNamespace);

impl ObjectsBinding {
    async fn call(
        &self,
        name: &str,
        path: &str,
        body: String,
    ) -> std::result::Result<String, String> {
        let send = async {
            let stub: ObjectStub = self
                .0
                .id_from_name(name)
                .and_then(|id| id.get_stub())
                .map_err(|e| e.to_string())?
                .into_rpc();
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&JsValue::from_str(&body));
            let url = format!("https://conversation-object{path}");
            let response: web_sys::Response = call(stub.fetch(&url, &init)).await?.unchecked_into();
            let text = call(response.text()).await?.as_string().unwrap_or_default();
            Ok::<_, String>((response.status(), text))
        };
        match select(Box::pin(send), Delay::from(OBJECT_TIMEOUT)).await {
            Either::Left((Ok((200, text)), _)) => Ok(text),
            Either::Left((Ok((status, text)), _)) => Err(format!("{status}: {text}")),
            Either::Left((Err(e), _)) => Err(e),
            Either::Right(_) => Err("timed out".into()),
        }
    }
}

impl Objects for ObjectsBinding {
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, std::result::Result<ObjectAnswer, ObjectError>> {
        Box::pin(async move {
            let body = serde_json::to_string(call)?;
            let text = self
                .call(name, "/webhook", body)
                .await
                .map_err(ObjectError::Failed)?;
            Ok(serde_json::from_str(&text)?)
        })
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, std::result::Result<(u16, String), ObjectError>> {
        Box::pin(async move {
            let body = serde_json::to_string(call)?;
            let text = self
                .call(name, "/start", body)
                .await
                .map_err(ObjectError::Failed)?;
            Ok(serde_json::from_str(&text)?)
        })
    }
}

/// The pair's Durable Object: one per pair, its messages one at a time (see `objects`).
#[durable_object]
pub struct ConversationObject {
    state: State,
    env: Env,
    turnstile: Turnstile,
}

/// The object's storage and alarm.
struct ObjectStorage<'a>(&'a State);

impl ObjectStore for ObjectStorage<'_> {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        self.0
            .storage()
            .get::<String>(key)
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))
    }
    async fn put(&self, key: &str, value: &str) -> std::result::Result<(), StoreError> {
        self.0
            .storage()
            .put(key, value)
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))
    }
    async fn delete(&self, key: &str) -> std::result::Result<(), StoreError> {
        self.0
            .storage()
            .delete(key)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Failed(e.to_string()))
    }
    async fn set_alarm(&self, at: u64) -> std::result::Result<(), StoreError> {
        let now_ms = Date::now().as_millis();
        let offset = (at * 1000).saturating_sub(now_ms) as i64;
        self.0
            .storage()
            .set_alarm(offset)
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))
    }
    async fn delete_alarm(&self) -> std::result::Result<(), StoreError> {
        self.0
            .storage()
            .delete_alarm()
            .await
            .map_err(|e| StoreError::Failed(e.to_string()))
    }
}

impl ConversationObject {
    fn runtime<'a>(
        &'a self,
        find: &'a dyn Fn(&str) -> Option<String>,
        kv: Option<&'a Kv<'a>>,
    ) -> Runtime<'a, Kv<'a>> {
        Runtime {
            now: Date::now().as_millis() / 1000,
            kv,
            memory: None,
            vars: Vars::new(find),
            http: Rc::new(FetchClient),
            objects: None,
        }
    }
}

impl DurableObject for ConversationObject {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            turnstile: Turnstile::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(setup) = setup(&self.env) else {
            return Response::error("misconfigured", 503);
        };
        let body = req.text().await?;
        let path = req.path();
        // One message at a time, in arrival order, from loading the record to saving it.
        let _turn = self.turnstile.enter().await;
        let kv = kv_binding(&self.env);
        let store = kv.as_ref().map(Kv);
        let env = &self.env;
        let find = |name: &str| lookup(env, name);
        let rt = self.runtime(&find, store.as_ref());
        let storage = ObjectStorage(&self.state);
        let answer = match path.as_str() {
            "/webhook" => match serde_json::from_str::<WebhookCall>(&body) {
                Ok(call) => match objects::webhook(setup, &call, &storage, &rt).await {
                    Ok((answer, after_reply)) => {
                        if !after_reply.is_empty() {
                            self.state.wait_until(run_after_reply(after_reply));
                        }
                        serde_json::to_string(&answer).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            },
            "/start" => match serde_json::from_str::<StartCall>(&body) {
                Ok(call) => objects::start(setup, &call, &storage, &rt)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|a| serde_json::to_string(&a).map_err(|e| e.to_string())),
                Err(e) => Err(e.to_string()),
            },
            _ => Err(format!("no route {path}")),
        };
        match answer {
            Ok(json) => Response::ok(json),
            Err(e) => Response::error(e, 503),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let Ok(setup) = setup(&self.env) else {
            return Response::ok("");
        };
        let _turn = self.turnstile.enter().await;
        let env = &self.env;
        let find = |name: &str| lookup(env, name);
        let rt = self.runtime(&find, None);
        // Retries are the object's own (a bounded backoff): the alarm never throws.
        match objects::alarm(setup, &ObjectStorage(&self.state), &rt).await {
            Ok(what) => worker::console_log!(
                "{{\"event\":\"follow_up\",\"result\":{}}}",
                serde_json::to_string(&what).unwrap_or_default()
            ),
            Err(e) => worker::console_error!(
                "{{\"event\":\"follow_up\",\"error\":{}}}",
                serde_json::to_string(&e).unwrap_or_default()
            ),
        }
        Response::ok("")
    }
}

/// A var or secret of the worker by name.
fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
}

fn load_setup(env: &Env) -> Loaded {
    let find = |name: &str| lookup(env, name);
    let setup = Setup::from_vars(&Vars::new(&find));
    let problem = match &setup {
        Ok(s) => s.config.missing_token_error(),
        Err(e) => Some(e.clone()),
    };
    if let Some(e) = problem {
        // Once per isolate: the variable's name and the problem, never its value.
        worker::console_error!(
            "{{\"event\":\"config\",\"error\":{}}}",
            serde_json::to_string(&format!("misconfigured: {e}")).unwrap_or_default()
        );
    }
    setup
}

#[wasm_bindgen]
extern "C" {
    /// The three calls of the Workers KV binding API this worker makes. Bound directly
    /// rather than through `worker::kv::KvStore`, whose option objects go through
    /// serde_wasm_bindgen and serde_json values: kilobytes of wasm for `{type: "text"}`.
    pub type KvNamespace;
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

    /// A Durable Object's stub, called with `stub.fetch(url, init)`; and the global `fetch`.
    /// Bound directly rather than through `worker::Request::new_with_init`, whose
    /// conversions were 32 KB of wasm (13 KB gzipped) for two plain calls.
    type ObjectStub;
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch(
        this: &ObjectStub,
        url: &str,
        init: &web_sys::RequestInit,
    ) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(
        url: &str,
        init: &web_sys::RequestInit,
    ) -> std::result::Result<Promise, JsValue>;
}

fn kv_binding(env: &Env) -> Option<KvNamespace> {
    let binding = Reflect::get(env, &JsValue::from_str(KV_BINDING)).ok()?;
    (!binding.is_undefined() && !binding.is_null()).then(|| binding.unchecked_into())
}

/// A JS exception's message, for the log (KV, objects and `fetch` calls).
fn js_error(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the call failed".into())
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
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        let read = Box::pin(call(self.0.get(key)));
        match select(read, Delay::from(KV_READ_TIMEOUT)).await {
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
            worker::console_error!(
                "{{\"event\":\"kv_write\",\"error\":{}}}",
                serde_json::to_string(&e).unwrap_or_default()
            );
        }
    }
}

/// Sends a conversation's requests with `fetch`, bounded by each request's timeout.
struct FetchClient;

impl HttpClient for FetchClient {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, std::result::Result<ClientResponse, ClientError>> {
        Box::pin(async move {
            let timeout = request.timeout;
            let call = Box::pin(fetch_once(request));
            match select(call, Delay::from(timeout)).await {
                Either::Left((result, _)) => result.map_err(ClientError::Failed),
                Either::Right(_) => Err(ClientError::Timeout),
            }
        })
    }
}

async fn fetch_once(request: ClientRequest) -> std::result::Result<ClientResponse, String> {
    let headers = web_sys::Headers::new().map_err(|e| js_error(&e))?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(|e| js_error(&e))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method);
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body.as_slice()));
    }
    let response: web_sys::Response = call(global_fetch(&request.url, &init))
        .await?
        .unchecked_into();
    let body = call(response.array_buffer()).await?;
    Ok(ClientResponse {
        status: response.status(),
        body: js_sys::Uint8Array::new(&body).to_vec(),
    })
}

/// Runs the conversation's after-reply work, logging what failed.
async fn run_after_reply(tasks: Vec<AfterReply>) {
    for task in tasks {
        if let Err(e) = task.work.await {
            worker::console_error!(
                "{{\"event\":\"after_reply\",\"task\":{},\"error\":{}}}",
                serde_json::to_string(task.name).unwrap_or_default(),
                serde_json::to_string(&e).unwrap_or_default()
            );
        }
    }
}

#[event(start)]
fn start() {
    // panic = "abort" ends the wasm instance: the hook puts the message in `wrangler tail`,
    // then has wasm-bindgen start a fresh instance before the next call.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        wasm_bindgen::handler::schedule_reinit();
    }));
}

/// The worker's environment, with its optional bindings (`CONVERSATIONS`, the KV namespace,
/// and `CONVERSATION_OBJECTS`, the Durable Objects; see wrangler.toml) looked up by the JS
/// entry: a property read there, several crossings each through `Env`.
struct Bindings {
    env: Env,
    kv: Option<KvNamespace>,
    objects: Option<ObjectsBinding>,
}

/// The request as the JS entry read it.
struct Incoming {
    method: String,
    url: String,
    content_type: Option<String>,
    signature: Option<String>,
    cookie: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
    /// 0 read, 1 too large (announced or found so; not read), 2 unreadable.
    body_state: u8,
}

/// One webhook, called by the JS entry (`src/entry.mjs`) with everything it read, answering
/// with everything it writes: [`pack`]ed into one string, or a promise of it when the
/// webhook waits on KV, a Durable Object or `fetch`. One crossing each way rather than one
/// per header, string and response part: 41 to 51 µs less CPU per webhook in workerd.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn webhook(
    method: String,
    url: String,
    content_type: Option<String>,
    signature: Option<String>,
    cookie: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
    body_state: u8,
    env: Env,
    kv: Option<KvNamespace>,
    objects: Option<Object>,
    ctx: worker::worker_sys::Context,
    started_ms: f64,
) -> JsValue {
    let incoming = Incoming {
        method,
        url,
        content_type,
        signature,
        cookie,
        authorization,
        body,
        body_state,
    };
    let bindings = Bindings {
        env,
        kv,
        objects: objects.map(|o| ObjectsBinding(o.unchecked_into())),
    };
    let mut answer = Box::pin(answer(
        incoming,
        bindings,
        Context::new(ctx),
        started_ms as u64,
    ));
    // Without KV, objects or `fetch` nothing waits: answered now, with no promise at all.
    let handoff = Arc::new(Handoff::default());
    let first = Waker::from(Arc::clone(&handoff));
    match answer
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&first))
    {
        Poll::Ready(packed) => packed.into(),
        Poll::Pending => wasm_bindgen_futures::future_to_promise(async move {
            let packed = std::future::poll_fn(|cx| {
                handoff.take_over(cx.waker());
                answer.as_mut().poll(cx)
            })
            .await;
            Ok(packed.into())
        })
        .into(),
    }
}

/// The waker of a webhook's first poll. When that poll leaves something pending, a task
/// takes over, and wake-ups armed during the first poll go to it: `worker::Delay` keeps the
/// waker of the poll that armed its timer. A wake-up before the task's first poll needs no
/// forwarding, since that poll looks at everything anyway.
#[derive(Default)]
struct Handoff(Mutex<Option<Waker>>);

impl Handoff {
    fn take_over(&self, waker: &Waker) {
        if let Ok(mut current) = self.0.lock() {
            current.replace(waker.clone());
        }
    }
}

impl Wake for Handoff {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(waker) = self.0.lock().ok().and_then(|w| w.clone()) {
            waker.wake();
        }
    }
}

async fn answer(req: Incoming, bindings: Bindings, ctx: Context, started: u64) -> String {
    let Bindings { env, kv, objects } = bindings;
    let body = match req.body_state {
        0 => Body::Read(&req.body),
        1 => Body::TooLarge,
        _ => Body::Unreadable,
    };
    let setup: &'static Loaded = setup(&env);
    let store = kv.as_ref().map(Kv);
    let find = |name: &str| lookup(&env, name);
    let runtime = Runtime {
        now: started / 1000,
        kv: store.as_ref(),
        memory: Some(MEMORY.with(|m| *m)),
        vars: Vars::new(&find),
        http: Rc::new(FetchClient),
        objects: objects.as_ref().map(|o| o as &dyn Objects),
    };
    let handled = app::handle(
        setup.as_ref(),
        &HttpRequest {
            method: &req.method,
            url: &req.url,
            content_type: req.content_type.as_deref(),
            signature: req.signature.as_deref(),
            cookie: req.cookie.as_deref(),
            authorization: req.authorization.as_deref(),
            body,
        },
        &runtime,
    )
    .await;
    let response = handled.response;

    if let (Some(kv), false) = (kv, handled.writes.is_empty()) {
        ctx.wait_until(run_writes(kv, handled.writes));
    }
    if !handled.after_reply.is_empty() {
        ctx.wait_until(run_after_reply(handled.after_reply));
    }
    if let Some(error) = &response.log.object_error {
        worker::console_error!(
            "{{\"event\":\"object\",\"error\":{}}}",
            serde_json::to_string(error).unwrap_or_default()
        );
    }
    if response.log.follow_up_ignored && !FOLLOW_UP_WARNED.with(|w| w.replace(true)) {
        // Once per isolate: the conversation asked for a follow-up the worker cannot send.
        worker::console_error!(
            "{{\"event\":\"follow_up_ignored\",\"why\":\"follow-ups need the CONVERSATION_OBJECTS Durable Object binding (see wrangler.toml)\"}}"
        );
    }
    if let Some(error) = &response.log.kv_error {
        worker::console_error!(
            "{{\"event\":\"kv_read\",\"error\":{}}}",
            serde_json::to_string(error).unwrap_or_default()
        );
    }
    let elapsed = (js_sys::Date::now() as u64).saturating_sub(started);
    pack(&response, &response.log.to_json(response.status, elapsed))
}

/// The response for the JS entry, one field a line: status, `Content-Type`, `Set-Cookie`,
/// `Allow`, `X-State-Source` (empty when absent), the log line, then the body (the only
/// field that may hold a newline).
fn pack(response: &HttpResponse, log: &str) -> String {
    let status = response.status.to_string();
    let fields = [
        status.as_str(),
        response.content_type,
        response.set_cookie.as_deref().unwrap_or_default(),
        response.allow.unwrap_or_default(),
        response.state_source().unwrap_or_default(),
        log,
    ];
    let mut out = String::with_capacity(
        fields.iter().map(|f| f.len() + 1).sum::<usize>() + response.body.len(),
    );
    for field in fields {
        out.push_str(field);
        out.push('\n');
    }
    out.push_str(&response.body);
    out
}
