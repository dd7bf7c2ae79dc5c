//! The `CONVERSATION_OBJECTS` Durable Objects (feature `objects`): the worker's calls to a
//! pair's object, and the object class itself (`ConversationObject`, exported by this crate
//! into every worker built with the feature).

use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use worker::{
    durable_object, Date, DurableObject, Env, ObjectNamespace, Request, Response, Result, State,
};

use super::js;
use super::kv::{self, Kv};
use super::{run_after_reply, setup, Incoming};
use crate::conversation::{ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture};
use crate::object_calls::{
    ObjectAnswer, ObjectError, Objects, StartCall, StateCall, StatusCall, WebhookCall,
};
use crate::objects::{ObjectStore, PairObject, Turnstile};
use crate::pipeline::Runtime;
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

/// Twilio waits 15 s; an object that has not answered in this long is treated as
/// unreachable and the worker answers from the cookie in the time left.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(8);

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

#[wasm_bindgen]
extern "C" {
    /// `env.CONVERSATION_OBJECTS`, looked up by the JS entry.
    #[wasm_bindgen(method, getter)]
    fn objects(this: &Incoming) -> Option<Object>;
}

/// The webhook's namespace, when bound.
pub(super) fn binding(req: &Incoming) -> Option<ObjectsBinding> {
    req.objects().map(|o| ObjectsBinding(o.unchecked_into()))
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
        match select(Box::pin(send), Sleep::new(OBJECT_TIMEOUT)).await {
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
    ) -> std::result::Result<R, ObjectError> {
        let body = serde_json::to_string(call)?;
        let text = self.call(name, path, body).await?;
        Ok(serde_json::from_str(&text)?)
    }
}

impl Objects for ObjectsBinding {
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, std::result::Result<ObjectAnswer, ObjectError>> {
        Box::pin(self.call_json(name, "/webhook", call))
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, std::result::Result<(u16, String), ObjectError>> {
        Box::pin(self.call_json(name, "/start", call))
    }

    fn state<'a>(
        &'a self,
        name: &'a str,
        call: &'a StateCall,
    ) -> LocalFuture<'a, std::result::Result<(u16, String), ObjectError>> {
        Box::pin(self.call_json(name, "/state", call))
    }

    fn status<'a>(
        &'a self,
        name: &'a str,
        call: &'a StatusCall,
    ) -> LocalFuture<'a, std::result::Result<(), ObjectError>> {
        Box::pin(async move {
            let _: String = self.call_json(name, "/status", call).await?;
            Ok(())
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
    /// The worker's call on `path` (`/webhook`, `/start`), answered as JSON.
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
            "/webhook" => {
                let call = serde_json::from_str::<WebhookCall>(body)?;
                let (answer, after_reply) = object.webhook(&call).await?;
                if !after_reply.is_empty() {
                    self.state.wait_until(run_after_reply(after_reply));
                }
                Ok(serde_json::to_string(&answer)?)
            }
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
        let Ok(setup) = setup(self.env.as_ref()) else {
            return Response::error("misconfigured", 503);
        };
        let body = req.text().await?;
        let path = req.path();
        // One message at a time, in arrival order, from loading the record to saving it.
        let _turn = self.turnstile.enter().await;
        let store = kv::from_env(self.env.as_ref());
        let env = &self.env;
        let find = |name: &str| js::var(env.as_ref(), name);
        let rt = self.runtime(&find, store.as_ref());
        let answer = self.route(setup, &path, &body, &rt).await;
        match answer {
            Ok(json) => Response::ok(json),
            Err(e) => Response::error(e.to_string(), 503),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let Ok(setup) = setup(self.env.as_ref()) else {
            return Response::ok("");
        };
        let _turn = self.turnstile.enter().await;
        let env = &self.env;
        let find = |name: &str| js::var(env.as_ref(), name);
        let rt = self.runtime(&find, None);
        // Retries are the object's own (a bounded backoff): the alarm never throws.
        let storage = ObjectStorage(&self.state);
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
