//! The Workers adapter: takes the request from the JS entry (`src/entry.mjs`) as the
//! arguments of one call ([`webhook`]), reads the configuration (once per isolate), calls
//! [`crate::app::handle`], hands back the response and its log line as one string ([`answer_text`]), and
//! runs the KV writes and the conversation's after-reply work with `ctx.wait_until`. KV
//! (`kv.rs`), the race of a turn against its deadline with KV alone (`late.rs`) and the
//! Durable Objects (`objects.rs`) are their own files; nothing here decides anything.

use std::cell::OnceCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use wasm_bindgen::prelude::*;

use crate::app::{self, Body, HttpRequest, LateRace, Runtime, Setup};
use crate::conversation::{AfterReply, Budget};
use crate::object_calls::Objects;
use crate::registry::Conversations;
use crate::response::Handled;
use crate::response::HttpResponse;
use crate::storage::Memory;
use crate::vars::{ConfigError, Vars};

#[cfg(feature = "bench-stages")]
mod bench;
mod js;
#[cfg(feature = "kv")]
mod kv;
mod late;
#[cfg(feature = "objects")]
mod objects;

/// Without the `kv` feature: no namespace, whatever the environment binds.
#[cfg(not(feature = "kv"))]
mod kv {
    pub(super) type Kv = crate::storage::NoStore;
    pub(super) fn binding(_: &super::Incoming) -> Option<Kv> {
        None
    }
    #[cfg(feature = "objects")]
    pub(super) fn from_env(_: &wasm_bindgen::JsValue) -> Option<Kv> {
        None
    }
    pub(super) fn schedule(
        _: &super::ExecutionContext,
        _: Option<Kv>,
        _: Vec<crate::storage::KvWrite>,
    ) {
    }
    pub(super) async fn write_now(_: Option<Kv>, _: Vec<crate::storage::KvWrite>) {}
}

/// Without the `objects` feature: no Durable Objects, whatever the environment binds.
#[cfg(not(feature = "objects"))]
mod objects {
    use crate::conversation::LocalFuture;
    use crate::object_calls::{
        ObjectAnswer, ObjectError, Objects, StartCall, StateCall, StatusCall, WebhookCall,
    };

    /// Never built.
    pub(super) enum ObjectsBinding {}

    impl Objects for ObjectsBinding {
        fn webhook<'a>(
            &'a self,
            _: &'a str,
            _: &'a WebhookCall,
        ) -> LocalFuture<'a, Result<ObjectAnswer, ObjectError>> {
            match *self {}
        }
        fn start<'a>(
            &'a self,
            _: &'a str,
            _: &'a StartCall,
        ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
            match *self {}
        }
        fn status<'a>(
            &'a self,
            _: &'a str,
            _: &'a StatusCall,
        ) -> LocalFuture<'a, Result<(), ObjectError>> {
            match *self {}
        }
        fn state<'a>(
            &'a self,
            _: &'a str,
            _: &'a StateCall,
        ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
            match *self {}
        }
    }

    pub(super) fn binding(_: &super::Incoming) -> Option<ObjectsBinding> {
        None
    }
}

use js::ExecutionContext;

type Loaded = std::result::Result<Setup, ConfigError>;

/// The wasm's allocator: talc rather than Rust's default dlmalloc, smaller (measured on the
/// starter's cookie-only worker, see CONTRIBUTING.md, Benchmarks) and faster. One thread, memory grown from wasm.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

thread_local! {
    /// Vars and secrets cannot change within an isolate, so the configuration (and the
    /// HKDF key derivation inside it) is done once, on the first request, and kept for
    /// the isolate's life (leaked once, so requests borrow it across `.await`s).
    static SETUP: OnceCell<&'static Loaded> = const { OnceCell::new() };
    /// The records this isolate answered last, against stale cookies and replays.
    static MEMORY: &'static Memory = Box::leak(Box::default());
    /// The worker's conversations, from its crate's [`crate::worker!`].
    static REGISTERED: std::cell::Cell<Option<&'static Conversations>> =
        const { std::cell::Cell::new(None) };
    /// Whether this isolate already said that follow-ups need the objects binding.
    static FOLLOW_UP_WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn setup(env: &JsValue) -> &'static Loaded {
    SETUP.with(|cell| *cell.get_or_init(|| Box::leak(Box::new(load_setup(env)))))
}

fn load_setup(env: &JsValue) -> Loaded {
    let find = |name: &str| js::var(env, name);
    let setup = match REGISTERED.with(|r| r.get()) {
        Some(conversations) => Setup::from_vars(&Vars::new(&find), conversations),
        None => Err(ConfigError::new(
            "CONVERSATION",
            "no conversation is registered: the worker's crate needs \
             sms_conversation_worker::worker!(YourConversation)",
        )),
    };
    // Which stores are bound is known here, from the env; a build that can bind none capped
    // the idle limit when parsing it.
    #[cfg(any(feature = "kv", feature = "objects"))]
    let setup = setup.and_then(|s| {
        let kv = cfg!(feature = "kv") && binds(env, "CONVERSATIONS");
        let objects = cfg!(feature = "objects") && binds(env, "CONVERSATION_OBJECTS");
        s.config.check_stores(kv, objects).map(|()| s)
    });
    let problem = match &setup {
        Ok(s) => s.config.missing_token_error(),
        Err(e) => Some(e.clone()),
    };
    if let Some(e) = problem {
        // Once per isolate: the variable's name and the problem, never its value.
        js::log_event_error("config", &format!("misconfigured: {e}"));
    }
    setup
}

/// Whether `env` binds `name`: the worker's and its objects' env bind the same stores.
#[cfg(any(feature = "kv", feature = "objects"))]
fn binds(env: &JsValue, name: &str) -> bool {
    js_sys::Reflect::get(env, &JsValue::from_str(name)).is_ok_and(|b| bound(&b))
}

/// Runs the conversation's after-reply work, logging what failed (numbers masked: an error
/// can quote a fetch's or Twilio's text).
async fn run_after_reply(tasks: Vec<AfterReply>) {
    for task in tasks {
        if let Err(e) = task.work.await {
            let e = crate::mask::mask_numbers(&e);
            js::log_error(&format!(
                "{{\"event\":\"after_reply\",\"task\":{},\"error\":{}}}",
                serde_json::to_string(task.name).unwrap_or_default(),
                serde_json::to_string(&e).unwrap_or_default()
            ));
        }
    }
}

/// The wasm instance's start, called by the start hook [`crate::worker!`] defines in the
/// worker's crate (again when a fresh instance replaces one that panicked): keeps the
/// worker's conversations for [`load_setup`], and sets the panic hook.
pub fn start(conversations: &'static Conversations) {
    REGISTERED.with(|r| r.set(Some(conversations)));
    // panic = "abort" ends the wasm instance: the hook puts the message in `wrangler tail`,
    // then has wasm-bindgen start a fresh instance before the next call.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        wasm_bindgen::handler::schedule_reinit();
    }));
}

/// The request as the JS entry (`src/entry.mjs`) handed it over, with the worker's bindings:
/// everything arrives as the call's arguments, none of it read back across the boundary.
struct Incoming {
    read: Read,
    /// `Date.now()` when the request arrived.
    started: f64,
    env: JsValue,
    /// `env.CONVERSATIONS` (KV), undefined when not bound.
    #[cfg_attr(not(feature = "kv"), allow(dead_code))]
    kv: JsValue,
    /// `env.CONVERSATION_OBJECTS`, undefined when not bound.
    #[cfg_attr(not(feature = "objects"), allow(dead_code))]
    objects: JsValue,
}

/// Whether a binding's value is one (not `undefined` or `null`).
#[cfg(any(feature = "kv", feature = "objects"))]
fn bound(binding: &JsValue) -> bool {
    !binding.is_undefined() && !binding.is_null()
}

/// How the JS entry read the body; the numbers are the contract's ([`contract`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// Read whole.
    Read = 0,
    /// Larger than [`app::MAX_BODY_BYTES`], announced or found so: not read (or not on).
    TooLarge = 1,
    /// The runtime failed to read it.
    Unreadable = 2,
}

impl BodyState {
    /// Its name in the contract.
    fn name(self) -> &'static str {
        match self {
            BodyState::Read => "read",
            BodyState::TooLarge => "tooLarge",
            BodyState::Unreadable => "unreadable",
        }
    }
}

/// The limits and codes the JS entry needs, defined here once: `JSON.parse(contract())`
/// when its module loads. Written by hand: serde's derive for it was 1 KB of wasm.
#[wasm_bindgen]
#[allow(unreachable_pub)] // Exported to the JS entry by wasm-bindgen.
pub fn contract() -> String {
    let mut json = format!("{{\"maxBodyBytes\":{},\"bodyState\":[", app::MAX_BODY_BYTES);
    for (i, s) in [BodyState::Read, BodyState::TooLarge, BodyState::Unreadable]
        .into_iter()
        .enumerate()
    {
        // A loop rather than `join`: its code was 1 KB of wasm for this one list.
        let comma = if i > 0 { "," } else { "" };
        json.push_str(&format!("{comma}[\"{}\",{}]", s.name(), s as u8));
    }
    json.push_str("]}");
    json
}

/// One webhook, called by the JS entry (`src/entry.mjs`) with everything it read, answering
/// with everything it writes (one string, [`answer_text`]), or a promise of it when the
/// webhook waits on KV, a Durable Object or `fetch`. One crossing each way rather than one
/// per header, string and response part: 41 to 51 µs less CPU per webhook in workerd.
///
/// `head` is the method, the URL and the five headers the worker reads, in [`Read::FIELDS`]'
/// order, as UTF-8 joined by line breaks (which none of them can hold): one `encodeInto` and
/// one copy in, rather than a string each, or one string that the glue copies char by char
/// (see `utf8` in the entry). `present` has bit `i` set when the `i`th header was sent (an
/// empty header is not a missing one). `body_state` is a [`BodyState`].
#[wasm_bindgen]
#[allow(unreachable_pub, clippy::too_many_arguments)] // Exported to the JS entry by wasm-bindgen.
pub fn webhook(
    head: Vec<u8>,
    present: u8,
    body: Vec<u8>,
    body_state: u8,
    started: f64,
    env: JsValue,
    kv: JsValue,
    objects: JsValue,
    ctx: ExecutionContext,
) -> JsValue {
    let incoming = Incoming {
        read: Read::new(head, present, body, body_state),
        started,
        env,
        kv,
        objects,
    };
    let mut answer = Box::pin(answer(incoming, ctx));
    // Without KV, objects or `fetch` nothing waits: answered now, with no promise at all.
    let handoff = Arc::new(Handoff::default());
    let first = Waker::from(Arc::clone(&handoff));
    match answer
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&first))
    {
        Poll::Ready(json) => json.into(),
        Poll::Pending => wasm_bindgen_futures::future_to_promise(async move {
            let json = std::future::poll_fn(|cx| {
                handoff.take_over(cx.waker());
                answer.as_mut().poll(cx)
            })
            .await;
            Ok(json.into())
        })
        .into(),
    }
}

/// The waker of a webhook's first poll. When that poll leaves something pending, a task
/// takes over, and wake-ups armed during the first poll go to it: a timer keeps the
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

/// The answer to one request: the turn raced against the budget, answered in time or, with KV
/// alone, early while the turn goes on (`late.rs`).
async fn answer(req: Incoming, ctx: ExecutionContext) -> String {
    #[cfg(feature = "bench-stages")]
    if let Some(json) = bench::canned(&req) {
        return json;
    }
    let started = req.started as u64;
    let setup: &'static Loaded = setup(&req.env);
    let store = kv::binding(&req);
    #[cfg(feature = "bench-stages")]
    let signature = req.read.signature().map(str::to_string);
    #[cfg(feature = "bench-stages")]
    if let Some(text) = bench::cut("early", signature.as_deref()) {
        return text;
    }
    let race = Rc::new(LateRace::default());
    let turn = Box::pin(turn(req, setup, started, Rc::clone(&race)));
    let left = || time_left(setup, started);
    #[cfg_attr(not(feature = "kv"), allow(unused_mut))]
    let mut handled = match late::race(turn, left, &race).await {
        late::Raced::Done(handled) => handled,
        late::Raced::Late(early, turn) => {
            js::wait_until(&ctx, late::finish(turn, store));
            return respond(&early);
        }
    };
    #[cfg(feature = "bench-stages")]
    if let Some(text) = bench::cut("handled", signature.as_deref()) {
        return text;
    }
    #[cfg(feature = "kv")]
    if handled.late_reply.is_some() {
        // The turn ended past the deadline before the timer fired: late all the same.
        let response = late::take_response(&mut handled);
        js::wait_until(&ctx, late::finish(std::future::ready(handled), store));
        return respond(&response);
    }
    let text = in_time(&ctx, store, handled);
    #[cfg(feature = "bench-stages")]
    bench::keep(&text);
    text
}

/// The answer of a turn that ended in time: its KV writes and after-reply work go on after
/// it (`waitUntil`), its errors to the log.
fn in_time(ctx: &ExecutionContext, store: Option<kv::Kv>, handled: Handled) -> String {
    let response = handled.response;
    kv::schedule(ctx, store, handled.writes);
    if !handled.after_reply.is_empty() {
        js::wait_until(ctx, run_after_reply(handled.after_reply));
    }
    log_errors(&response);
    respond(&response)
}

/// One webhook's work, owning what it reads, so that a turn whose reply goes late can finish
/// after the answer (`late.rs`).
async fn turn(req: Incoming, setup: &'static Loaded, started: u64, race: Rc<LateRace>) -> Handled {
    let env = &req.env;
    let store = kv::binding(&req);
    let objects = objects::binding(&req);
    let find = |name: &str| js::var(env, name);
    let runtime = Runtime {
        kv: store.as_ref(),
        memory: Some(MEMORY.with(|m| *m)),
        objects: objects.as_ref().map(|o| o as &dyn Objects),
        budget: budget(setup, started),
        late: Some(&race),
        ..Runtime::new(
            started / 1000,
            Vars::new(&find),
            Rc::new(crate::conversation::PlatformFetch),
        )
    };
    let request = req.read.request();
    let handled = app::handle(setup.as_ref(), &request, &runtime).await;
    #[cfg(feature = "bench-stages")]
    bench::repeat(&req, setup, &runtime, &handled.response).await;
    handled
}

/// The answer for the JS entry ([`answer_text`]), with its log line but the `ms` the entry
/// appends.
fn respond(response: &HttpResponse) -> String {
    answer_text(response, &response.log.to_json_but_ms(response.status))
}

/// The webhook's answer budget (`REPLY_BUDGET_SECONDS` from its arrival, `started`) on
/// `Date.now()`.
fn budget(setup: &Loaded, started: u64) -> Option<Budget<'static>> {
    let seconds = setup.as_ref().ok()?.config.reply_budget_seconds;
    Some(Budget::new(started + seconds * 1000, &date_now))
}

/// The time left to the budget's deadline, for the race of a turn whose reply may go late:
/// only KV keeps a late turn's state without the objects (whose object races its own turn).
fn time_left(setup: &Loaded, started: u64) -> Option<std::time::Duration> {
    let budget = budget(setup, started).filter(|_| cfg!(feature = "kv"))?;
    Some(budget.left())
}

/// `Date.now()` in whole milliseconds.
fn date_now() -> u64 {
    js_sys::Date::now() as u64
}

/// The request's fields as the JS entry handed them over (see [`webhook`]), for
/// [`HttpRequest`] to borrow.
struct Read {
    /// The method, the URL and the headers, in [`Read::FIELDS`]' order, one a line.
    head: String,
    /// Bit `i` set: the `i`th header was sent.
    present: u8,
    body: Vec<u8>,
    body_state: u8,
}

impl Read {
    /// What `head` holds, in order (the headers lower-cased, as `Headers.get` takes them).
    const FIELDS: [&'static str; 7] = [
        "method",
        "url",
        "content-type",
        "x-twilio-signature",
        "cookie",
        "authorization",
        "idempotency-key",
    ];

    fn new(head: Vec<u8>, present: u8, body: Vec<u8>, body_state: u8) -> Self {
        // `encodeInto` writes UTF-8 only; the lossy path is there so that nothing here panics.
        let head = String::from_utf8(head)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Read {
            head,
            present,
            body,
            body_state,
        }
    }

    /// The method, the URL and the five headers (`None`: not sent).
    fn fields(&self) -> (&str, &str, [Option<&str>; 5]) {
        // Split as `splitn` would (the last field takes the rest), with memchr: the cookie
        // among them is 2 KB with the defaults.
        let mut rest = self.head.as_str();
        let mut left = Self::FIELDS.len();
        let mut parts = std::iter::from_fn(|| {
            left = left.checked_sub(1)?;
            let end = match left {
                0 => rest.len(),
                _ => memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len()),
            };
            let part = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            Some(part)
        });
        let method = parts.next().unwrap_or_default();
        let url = parts.next().unwrap_or_default();
        let headers = std::array::from_fn(|i| {
            let value = parts.next().unwrap_or_default();
            (self.present & (1 << i) != 0).then_some(value)
        });
        (method, url, headers)
    }

    /// `X-Twilio-Signature`, when sent.
    #[cfg(feature = "bench-stages")]
    fn signature(&self) -> Option<&str> {
        self.fields().2[1]
    }

    fn request(&self) -> HttpRequest<'_> {
        let state = self.body_state;
        let body = if state == BodyState::Read as u8 {
            Body::Read(&self.body)
        } else if state == BodyState::TooLarge as u8 {
            Body::TooLarge
        } else {
            Body::Unreadable
        };
        let (method, url, [content_type, signature, cookie, authorization, idempotency_key]) =
            self.fields();
        HttpRequest {
            method,
            url,
            content_type,
            signature,
            cookie,
            authorization,
            idempotency_key,
            body,
        }
    }
}

/// The response as the JS entry reads it (`respond` in `src/entry.mjs`): the status, the
/// `Content-Type`, `Set-Cookie`, `Allow`, `X-State-Source` and `X-Dev-Fetches` values (empty
/// when there is none) and the log line without its `ms` and closing brace (the entry appends
/// them: [`crate::response::LogEvent::to_json_but_ms`]), one a line, then the body, as it is.
/// No field before the body can hold a line break: header values cannot, and the log line and
/// the dev fetches are compact JSON. Rather than JSON, which escaped every string here and parsed them again in
/// JavaScript.
fn answer_text(response: &HttpResponse, log: &str) -> String {
    let head = [
        response.content_type,
        response.set_cookie.as_deref().unwrap_or_default(),
        response.allow.unwrap_or_default(),
        response.state_source().unwrap_or_default(),
        response.dev_fetches.as_deref().unwrap_or_default(),
        log,
    ];
    let size = 4 + head.iter().map(|f| f.len() + 1).sum::<usize>() + response.body.len();
    let mut text = String::with_capacity(size);
    text.push_str(itoa::Buffer::new().format(u64::from(response.status)));
    for field in head {
        text.push('\n');
        text.push_str(field);
    }
    text.push('\n');
    text.push_str(&response.body);
    text
}

/// The errors behind a response, one line each, beside its log line.
fn log_errors(response: &HttpResponse) {
    if let Some(error) = &response.log.object_error {
        js::log_event_error("object", error);
    }
    if response.log.follow_up_ignored && !FOLLOW_UP_WARNED.with(|w| w.replace(true)) {
        // Once per isolate: the conversation asked for a follow-up the worker cannot send.
        js::log_error(
            "{\"event\":\"follow_up_ignored\",\"why\":\"follow-ups need the CONVERSATION_OBJECTS Durable Object binding (see wrangler.toml)\"}"
        );
    }
    if let Some(error) = &response.log.kv_error {
        js::log_event_error("kv_read", error);
    }
}
