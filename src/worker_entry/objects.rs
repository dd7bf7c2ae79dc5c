//! The `CONVERSATION_OBJECTS` Durable Objects (feature `objects`): the worker's calls to a
//! pair's object, and the object class itself (`ConversationObject`, exported by this crate
//! into every worker built with the feature).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, Date, DurableObject, Env, ObjectNamespace, Request, Response, Result, State,
};

use super::js;
use super::kv::{self, Kv};
use super::{run_after_reply, setup, Incoming};
use crate::conversation::{
    Budget, ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture,
};
use crate::object_calls::{
    AnsweredOutcome, ObjectAnswer, ObjectError, Objects, StartCall, StateCall, StatusCall,
    WebhookCall,
};
use crate::objects::{can_go_late, Answered, LateSend, ObjectStore, PairObject, Race, Turnstile};
use crate::pipeline::{Runtime, Setup};
use crate::platform::call;
use crate::platform::Sleep;
use crate::storage::StoreError;
use crate::vars::Vars;

/// Sends a conversation's requests with `fetch`, bounded by each request's timeout.
struct FetchClient;

impl HttpClient for FetchClient {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, std::result::Result<ClientResponse, ClientError>> {
        crate::platform::fetch(request)
    }
}

/// A call other than a webhook (a start, the state API, a status callback) that has not been
/// answered in this long is treated as unreachable.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(8);

/// How long past the webhook's deadline the worker still waits for the object, which answers
/// at the deadline itself: the trip back. Silent past it, the worker stops waiting.
const DEADLINE_GRACE_MS: u64 = 1_000;

/// The worker's last moment to stop waiting for the object, from the webhook's arrival, with
/// room to spare before Twilio stops waiting at 15 s.
const LAST_ANSWER_MS: u64 = 13_500;

/// How long the worker waits for the object's answer to `call`: until just past its deadline,
/// and never past [`LAST_ANSWER_MS`] from the webhook's arrival.
fn webhook_wait(call: &WebhookCall) -> Duration {
    if call.deadline_ms == 0 {
        return OBJECT_TIMEOUT;
    }
    let until = (call.deadline_ms + DEADLINE_GRACE_MS).min(call.arrival_ms + LAST_ANSWER_MS);
    Duration::from_millis(until.saturating_sub(now_ms()))
}

/// `Date.now()`: in production it moves only on I/O, which is when a deadline can pass.
fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[wasm_bindgen]
extern "C" {
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
}

/// The webhook's namespace, when bound (`env.CONVERSATION_OBJECTS`, looked up by the JS
/// entry).
pub(super) fn binding(req: &Incoming) -> Option<ObjectsBinding> {
    super::bound(&req.objects).then(|| ObjectsBinding(req.objects.clone().unchecked_into()))
}

/// The `CONVERSATION_OBJECTS` namespace, reached with `stub.fetch`, each call bounded by
/// [`OBJECT_TIMEOUT`].
pub(super) struct ObjectsBinding(ObjectNamespace);

impl ObjectsBinding {
    async fn call(
        &self,
        name: &str,
        path: &str,
        body: String,
        wait: Duration,
    ) -> std::result::Result<String, ObjectError> {
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
        match select(Box::pin(send), Sleep::new(wait)).await {
            Either::Left((Ok((200, text)), _)) => Ok(text),
            Either::Left((Ok((status, text)), _)) => {
                Err(ObjectError::Failed(format!("{status}: {text}")))
            }
            Either::Left((Err(e), _)) => Err(ObjectError::Failed(e)),
            Either::Right(_) => Err(ObjectError::TimedOut),
        }
    }
}

impl ObjectsBinding {
    /// `call` as JSON to the object's `path`, its JSON answer read back: both calls' one body.
    async fn call_json<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        path: &str,
        call: &T,
        wait: Duration,
    ) -> std::result::Result<R, ObjectError> {
        let body = serde_json::to_string(call)?;
        let text = self.call(name, path, body, wait).await?;
        Ok(serde_json::from_str(&text)?)
    }
}

impl Objects for ObjectsBinding {
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, std::result::Result<ObjectAnswer, ObjectError>> {
        Box::pin(self.call_json(name, "/webhook", call, webhook_wait(call)))
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, std::result::Result<(u16, String), ObjectError>> {
        Box::pin(self.call_json(name, "/start", call, OBJECT_TIMEOUT))
    }

    fn state<'a>(
        &'a self,
        name: &'a str,
        call: &'a StateCall,
    ) -> LocalFuture<'a, std::result::Result<(u16, String), ObjectError>> {
        Box::pin(self.call_json(name, "/state", call, OBJECT_TIMEOUT))
    }

    fn status<'a>(
        &'a self,
        name: &'a str,
        call: &'a StatusCall,
    ) -> LocalFuture<'a, std::result::Result<(), ObjectError>> {
        Box::pin(async move {
            let _: String = self
                .call_json(name, "/status", call, OBJECT_TIMEOUT)
                .await?;
            Ok(())
        })
    }
}

/// The pair's Durable Object: one per pair, its messages one at a time (see `objects`).
#[durable_object]
pub struct ConversationObject {
    inner: Rc<Inner>,
}

/// The object's parts, shared with a webhook's turn that goes on after its answer (a late
/// reply, from `wait_until`).
struct Inner {
    state: State,
    env: Env,
    turnstile: Turnstile,
    /// The messages whose turn is under way (waiting or running), each with its race: a
    /// retry of one of them makes its reply go late instead of waiting for the turnstile.
    running: RefCell<Vec<(String, Rc<Race>)>>,
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

impl Inner {
    /// The worker's call on `path` (`/start`, `/state`, `/status`), answered as JSON.
    async fn route(
        &self,
        setup: &crate::pipeline::Setup,
        path: &str,
        body: &str,
        rt: &Runtime<'_, Kv>,
    ) -> std::result::Result<String, ObjectError> {
        let storage = ObjectStorage(&self.state);
        let object = PairObject::new(&storage, setup, rt);
        match path {
            "/start" => {
                let call = serde_json::from_str::<StartCall>(body)?;
                let answer = object.start(&call).await?;
                Ok(serde_json::to_string(&answer)?)
            }
            #[cfg(feature = "state-api")]
            "/state" => {
                let call = serde_json::from_str::<StateCall>(body)?;
                let answer = object.state(&call).await?;
                Ok(serde_json::to_string(&answer)?)
            }
            "/status" => {
                let call = serde_json::from_str::<StatusCall>(body)?;
                let what = object.status(&call).await?;
                Ok(serde_json::to_string(&what)?)
            }
            _ => Err(ObjectError::Failed(format!("no route {path}"))),
        }
    }

    fn runtime<'a>(
        &'a self,
        find: &'a dyn Fn(&str) -> Option<String>,
        kv: Option<&'a Kv>,
    ) -> Runtime<'a, Kv> {
        Runtime {
            now: now_ms() / 1000,
            kv,
            memory: None,
            vars: Vars::new(find),
            http: Rc::new(FetchClient),
            objects: None,
            // The object's clock: each webhook's call says its own deadline.
            budget: Some(Budget::new(u64::MAX, &now_ms)),
            late: None,
        }
    }

    /// One webhook's turn: waits for the turnstile, answers the message against the record,
    /// and leaves the list of running messages.
    async fn turn(
        self: Rc<Self>,
        setup: &'static Setup,
        call: WebhookCall,
        race: Rc<Race>,
    ) -> std::result::Result<Answered, ObjectError> {
        let answered = {
            let _turn = self.turnstile.enter().await;
            let store = kv::from_env(self.env.as_ref());
            let env = &self.env;
            let find = |name: &str| js::var(env.as_ref(), name);
            let rt = self.runtime(&find, store.as_ref());
            let storage = ObjectStorage(&self.state);
            let object = PairObject::new(&storage, setup, &rt);
            object.webhook(&call, &race).await
        };
        let sid = call.message.sid();
        self.running.borrow_mut().retain(|(s, _)| s != sid);
        answered
    }

    /// Whether message `sid` was answered late before, or is under way now (its reply then
    /// goes late): either way a retry of it gets empty TwiML at once.
    async fn is_late_retry(&self, setup: &Setup, sid: &str) -> bool {
        let running = self
            .running
            .borrow()
            .iter()
            .find(|(s, _)| s == sid)
            .cloned();
        if let Some((_, race)) = running {
            return race.expire();
        }
        let find = |_: &str| None;
        let rt = self.runtime(&find, None);
        let storage = ObjectStorage(&self.state);
        let object = PairObject::new(&storage, setup, &rt);
        object.went_late(sid).await.unwrap_or(false)
    }

    /// What the turn left, as the object's answer: its after-reply work and a late send's
    /// log line go on after it.
    fn finish(&self, answered: std::result::Result<Answered, ObjectError>) -> Result<Response> {
        match answered {
            Ok(answered) => {
                let json = serde_json::to_string(&answered.answer)?;
                let after = after_turn(answered.after_reply, answered.late);
                self.state.wait_until(after);
                Response::ok(json)
            }
            Err(e) => Response::error(e.to_string(), 503),
        }
    }
}

/// After a turn's answer: the late send's log line (written by the object, which sent it),
/// then the conversation's after-reply work.
async fn after_turn(after_reply: Vec<crate::conversation::AfterReply>, late: Option<LateSend>) {
    if let Some(late) = late {
        match late.result {
            Ok(_) => js::log(&late.log_line()),
            Err(_) => js::log_error(&late.log_line()),
        }
    }
    if !after_reply.is_empty() {
        run_after_reply(after_reply).await;
    }
}

impl ConversationObject {
    /// A webhook: the turn raced against the call's deadline. When the deadline wins, the
    /// answer is empty TwiML and the turn goes on in `wait_until`; it sends the reply itself.
    async fn webhook(&self, setup: &'static Setup, body: &str) -> Result<Response> {
        let call = match serde_json::from_str::<WebhookCall>(body) {
            Ok(call) => call,
            Err(e) => return Response::error(ObjectError::from(e).to_string(), 503),
        };
        let sid = call.message.sid().to_string();
        if self.inner.is_late_retry(setup, &sid).await {
            return late_answer(AnsweredOutcome::Retry);
        }
        let race = Rc::new(Race::default());
        (self.inner.running.borrow_mut()).push((sid, Rc::clone(&race)));
        let deadline_ms = call.deadline_ms;
        // Without the Messages API nothing could send a late reply: no race, the TwiML it is.
        let races = deadline_ms != 0 && can_go_late(&setup.config, call.message.account());
        let turn = Box::pin(Rc::clone(&self.inner).turn(setup, call, Rc::clone(&race)));
        if !races {
            return self.inner.finish(turn.await);
        }
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms()));
        match select(turn, Sleep::new(left)).await {
            Either::Left((answered, _)) => self.inner.finish(answered),
            Either::Right((_, turn)) if race.expire() => {
                let inner = Rc::clone(&self.inner);
                let rest = async move {
                    let answered = turn.await;
                    let _ = inner.finish(answered);
                };
                self.inner.state.wait_until(rest);
                late_answer(AnsweredOutcome::Late)
            }
            // The turn has its reply for the TwiML already: only its saving is left.
            Either::Right((_, turn)) => self.inner.finish(turn.await),
        }
    }
}

/// The empty TwiML of a reply that goes (or went) late.
fn late_answer(outcome: AnsweredOutcome) -> Result<Response> {
    Response::ok(serde_json::to_string(&ObjectAnswer::late(outcome))?)
}

impl DurableObject for ConversationObject {
    fn new(state: State, env: Env) -> Self {
        let inner = Inner {
            state,
            env,
            turnstile: Turnstile::default(),
            running: RefCell::default(),
        };
        Self {
            inner: Rc::new(inner),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(setup) = setup(self.inner.env.as_ref()) else {
            return Response::error("misconfigured", 503);
        };
        let body = req.text().await?;
        let path = req.path();
        if path == "/webhook" {
            return self.webhook(setup, &body).await;
        }
        let inner = &self.inner;
        // One call at a time, in arrival order, from loading the record to saving it.
        let _turn = inner.turnstile.enter().await;
        let store = kv::from_env(inner.env.as_ref());
        let env = &inner.env;
        let find = |name: &str| js::var(env.as_ref(), name);
        let rt = inner.runtime(&find, store.as_ref());
        // Apart from the webhook's path: a fresh object compiles only what its first call runs.
        let answer = crate::conversation::apart(inner.route(setup, &path, &body, &rt)).await;
        match answer {
            Ok(json) => Response::ok(json),
            Err(e) => Response::error(e.to_string(), 503),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let inner = &self.inner;
        let Ok(setup) = setup(inner.env.as_ref()) else {
            return Response::ok("");
        };
        let _turn = inner.turnstile.enter().await;
        let env = &inner.env;
        let find = |name: &str| js::var(env.as_ref(), name);
        let rt = inner.runtime(&find, None);
        // Retries are the object's own (a bounded backoff): the alarm never throws.
        let storage = ObjectStorage(&inner.state);
        match PairObject::new(&storage, setup, &rt).alarm().await {
            Ok(what) => js::log(&format!(
                "{{\"event\":\"follow_up\",\"result\":{}}}",
                serde_json::to_string(&what).unwrap_or_default()
            )),
            Err(e) => js::log_event_error("follow_up", &e),
        }
        Response::ok("")
    }
}
