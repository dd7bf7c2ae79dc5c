//! A test phone for conversations: drives texts through the whole webhook path (signature,
//! cookie, KV, the conversation, TwiML) natively, without workerd, the way Twilio would.
//! Around it: a fake HTTP client for the conversation's outside calls ([`FakeHttp`]), phones
//! started from a saved state ([`TestPhone::from_state`]) and the check that saved states
//! still read ([`check_saved_states`]), and transcripts of whole conversations replayed as
//! tests ([`replay`]).
//!
//! ```
//! use sms_conversation_worker::conversations::Counter;
//! use sms_conversation_worker::harness::TestPhone;
//!
//! let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
//! assert_eq!(phone.text("hi").texts(), ["Hello, thanks for the new message."]);
//! assert_eq!(phone.text("again").texts(), ["Hello, thanks for message number 2"]);
//! // Twilio retries a delivery: the same answer, nothing counted.
//! assert_eq!(phone.retry().texts(), ["Hello, thanks for message number 2"]);
//! // Twilio forgets the cookie after four idle hours: without KV, a new conversation.
//! phone.wait(4 * 3600);
//! assert_eq!(phone.text("back").texts(), ["Hello, thanks for the new message."]);
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use serde::de::DeserializeOwned;

mod http;
mod objects;
mod states;
mod transcript;

pub use http::{Answering, FakeHttp};
pub use objects::MapObjectStore;
pub use states::{check_saved_states, SavedStateError, StateCheckError};
pub use transcript::{replay, ReplayError, Transcript, TRANSCRIPT_FORMAT};

use crate::app::{self, Body, HttpRequest, Runtime, Setup};
use crate::conversation::{AfterReply, Conversation, LocalFuture};
use crate::objects::{
    ObjectAnswer, ObjectError, Objects, PairObject, StartCall, StatusCall, WebhookCall,
};
use crate::record::{Pair, Record};
use crate::registry::Conversations;
use crate::seal::our_cookie_values;
use crate::storage::{KvWrite, Memory, Source, Storage, Store, StoreError};
use crate::twilio::segments::{segments, Segments};
use crate::twilio::signature;
use crate::vars::{ConfigError, Vars};

/// The auth token the test phone signs with (its default `TWILIO_AUTH_TOKEN`).
pub const TEST_AUTH_TOKEN: &str = "test-auth-token";
/// The test phone's default `SESSION_SECRET`.
pub const TEST_SESSION_SECRET: &str = "test-session-secret-0123456789abcdef";
/// The webhook URL the test phone posts to.
pub const TEST_URL: &str = "https://sms.example.workers.dev/sms";
/// The AccountSid of the test phone's messages.
pub const TEST_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// The test phone's clock starts here (Unix seconds).
pub const TEST_START: u64 = 1_700_000_000;

/// Runs a future that never waits on the outside world (the fakes below answer at once).
///
/// # Panics
/// When the future stays pending: it waits on something only a real runtime drives.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something the test harness cannot drive (a real timer or socket)")
}

/// A KV namespace in memory, that can be made to fail.
#[derive(Debug, Default)]
pub struct MapKv {
    entries: RefCell<BTreeMap<String, String>>,
    failing: Cell<bool>,
}

impl MapKv {
    /// Makes every read fail (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// Runs writes as the worker does after the reply.
    pub fn apply(&self, writes: Vec<KvWrite>) {
        let mut entries = self.entries.borrow_mut();
        for write in writes {
            match write {
                KvWrite::Put { key, value, .. } => entries.insert(key, value),
                KvWrite::Delete { key } => entries.remove(&key),
            };
        }
    }

    /// The keys stored.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    /// Stores `value` under `key` directly.
    pub fn put(&self, key: &str, value: &str) {
        self.entries.borrow_mut().insert(key.into(), value.into());
    }
}

impl Store for MapKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.failing.get() {
            return Err(StoreError::Failed("KV is failing (test)".into()));
        }
        Ok(self.entries.borrow().get(key).cloned())
    }
}

/// What the worker answered to one text.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP status.
    pub status: u16,
    /// The response body (TwiML, or an error's text).
    pub body: String,
    /// The log's outcome: `reply`, `retry`, `reset`, `opt_out`, or a rejection's name.
    pub outcome: &'static str,
    /// Where the record came from.
    pub source: Option<Source>,
    /// The `Set-Cookie` header.
    pub set_cookie: Option<String>,
    messages: Vec<(String, Vec<String>)>,
    after_reply_errors: Vec<String>,
    /// The log line's `segments`, for the crate's tests to check against
    /// [`Exchange::segments`].
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) logged_segments: Vec<Segments>,
}

impl Exchange {
    /// The text of each `<Message>`.
    pub fn texts(&self) -> Vec<&str> {
        self.messages.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// Every `<Media>` URL, in order.
    pub fn media(&self) -> Vec<&str> {
        self.messages
            .iter()
            .flat_map(|(_, m)| m.iter().map(String::as_str))
            .collect()
    }

    /// What each `<Message>`'s text costs (encoding and segments), in order: what the log
    /// line's `segments` says.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::counter::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// use sms_conversation_worker::twilio::segments::Encoding;
    /// let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
    /// let answer = phone.text("hi");
    /// assert_eq!(answer.segments()[0].encoding, Encoding::Gsm7);
    /// assert_eq!(answer.segments()[0].count, 1);
    /// ```
    pub fn segments(&self) -> Vec<Segments> {
        self.messages.iter().map(|(t, _)| segments(t)).collect()
    }

    /// `name: error` of each after-reply task that failed.
    pub fn after_reply_errors(&self) -> &[String] {
        &self.after_reply_errors
    }
}

struct Sent {
    sid: String,
    body: String,
    cookie: Option<String>,
}

/// A phone texting one conversation through the whole webhook path, keeping the cookie as
/// Twilio does (one jar per pair, gone after `Max-Age`), with the isolate's memory and,
/// optionally, KV.
pub struct TestPhone {
    setup: Rc<Setup>,
    vars: BTreeMap<String, String>,
    from: String,
    to: String,
    jar: Option<(String, u64)>,
    now: u64,
    sent: u64,
    memory: Memory,
    kv: Option<MapKv>,
    http: Rc<FakeHttp>,
    objects: Option<LocalObjects>,
    last: Option<Sent>,
}

/// The `CONVERSATION_OBJECTS` namespace in memory: one [`MapObjectStore`] per object name,
/// running the objects' own code ([`crate::objects`]).
pub struct LocalObjects {
    setup: Rc<Setup>,
    vars: BTreeMap<String, String>,
    http: Rc<FakeHttp>,
    now: Rc<Cell<u64>>,
    stores: RefCell<BTreeMap<String, Rc<MapObjectStore>>>,
    unreachable: Cell<bool>,
}

impl LocalObjects {
    fn store(&self, name: &str) -> Rc<MapObjectStore> {
        Rc::clone(
            self.stores
                .borrow_mut()
                .entry(name.to_string())
                .or_default(),
        )
    }

    fn runtime<'a>(&'a self, lookup: &'a dyn Fn(&str) -> Option<String>) -> Runtime<'a, MapKv> {
        Runtime::new(
            self.now.get(),
            Vars::new(lookup),
            Rc::clone(&self.http) as _,
        )
    }

    /// Fires every alarm that is due at the current time; what each one did.
    pub fn fire_alarms(&self) -> Vec<Result<String, ObjectError>> {
        let due: Vec<Rc<MapObjectStore>> = self
            .stores
            .borrow()
            .values()
            .filter(|s| s.alarm_at().is_some_and(|at| at <= self.now.get()))
            .cloned()
            .collect();
        let lookup = |name: &str| self.vars.get(name).cloned();
        due.iter()
            .map(|store| {
                store.clear_alarm();
                let rt = self.runtime(&lookup);
                block_on(PairObject::new(store.as_ref(), &self.setup, &rt).alarm())
            })
            .collect()
    }

    /// When the next alarm is due, if any.
    pub fn next_alarm(&self) -> Option<u64> {
        self.stores
            .borrow()
            .values()
            .filter_map(|s| s.alarm_at())
            .min()
    }

    /// Makes every object unreachable (or reachable again).
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.set(unreachable);
    }
}

impl LocalObjects {
    /// Runs `run` in the object `name` with its store and runtime, as the namespace would: an
    /// unreachable object fails the call.
    async fn call<T>(
        &self,
        name: &str,
        run: impl AsyncFnOnce(&MapObjectStore, &Runtime<'_, MapKv>) -> Result<T, ObjectError>,
    ) -> Result<T, ObjectError> {
        if self.unreachable.get() {
            return Err(ObjectError::Failed("object unreachable (test)".into()));
        }
        let store = self.store(name);
        let lookup = |var: &str| self.vars.get(var).cloned();
        run(store.as_ref(), &self.runtime(&lookup)).await
    }
}

impl Objects for LocalObjects {
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, Result<ObjectAnswer, ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            let object = PairObject::new(store, &self.setup, rt);
            let (answer, after_reply) = object.webhook(call).await?;
            // The object's wait_until: after its answer.
            for task in after_reply {
                let _ = task.work.await;
            }
            Ok(answer)
        }))
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            PairObject::new(store, &self.setup, rt).start(call).await
        }))
    }

    fn state<'a>(
        &'a self,
        name: &'a str,
        call: &'a crate::objects::StateCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
        Box::pin(self.call(name, async move |store, rt| {
            #[cfg(feature = "state-api")]
            {
                PairObject::new(store, &self.setup, rt).state(call).await
            }
            #[cfg(not(feature = "state-api"))]
            {
                let _ = (call, store, rt);
                Err(ObjectError::Failed(
                    "built without the state-api feature".into(),
                ))
            }
        }))
    }

    fn status<'a>(
        &'a self,
        name: &'a str,
        call: &'a StatusCall,
    ) -> LocalFuture<'a, Result<(), ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            let object = PairObject::new(store, &self.setup, rt);
            object.status(call).await.map(|_| ())
        }))
    }
}

impl TestPhone {
    /// A phone texting conversation `C`, configured with `vars` over a signed default
    /// (`TWILIO_AUTH_TOKEN`, `SESSION_SECRET`). Fails as the worker would on a bad setting.
    pub fn new<C: Conversation>(vars: &[(&str, &str)]) -> Result<TestPhone, ConfigError> {
        TestPhone::configured(vars, |vars| Setup::with::<C>(vars))
    }

    /// A phone texting the conversation called `name` among `conversations`, as a worker
    /// with `CONVERSATION=name` and `vars` would pick it: for a transcript or a tool that
    /// knows the conversation by name only.
    ///
    /// ```
    /// use sms_conversation_worker::harness::TestPhone;
    /// use sms_conversation_worker::conversations::SHIPPED;
    /// let mut phone = TestPhone::of(&SHIPPED, "survey", &[]).unwrap();
    /// assert_eq!(phone.text("hi").texts(), ["Hi! What's your name?"]);
    /// assert!(TestPhone::of(&SHIPPED, "nope", &[]).is_err());
    /// ```
    pub fn of(
        conversations: &Conversations,
        name: &str,
        vars: &[(&str, &str)],
    ) -> Result<TestPhone, ConfigError> {
        let mut vars = vars.to_vec();
        vars.push(("CONVERSATION", name));
        TestPhone::configured(&vars, |vars| Setup::from_vars(vars, conversations))
    }

    /// A phone whose pair's conversation is already at `json`, a saved state of `C` at its
    /// current [`Conversation::STATE_VERSION`]: what `phone.state::<Value>()` or the dev
    /// phone's state panel show, or the state API's answer (an object with `state` and
    /// `state_version`, `count`, …, whose `state_version` and `count` are then used). The
    /// state rides in the pair's cookie, as if the last reply had left it, so the next text
    /// continues from it.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Survey;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let mut phone = TestPhone::from_state::<Survey>(&[], r#"{"Zip": {"name": "Ada"}}"#).unwrap();
    /// assert_eq!(phone.text("94110").texts(), ["Can we text you updates? Reply Y for yes or N for no."]);
    /// // A state that does not read is an error, never a silent fresh start.
    /// assert!(TestPhone::from_state::<Survey>(&[], r#"{"Zap": 1}"#).is_err());
    /// ```
    pub fn from_state<C: Conversation>(
        vars: &[(&str, &str)],
        json: &str,
    ) -> Result<TestPhone, SavedStateError> {
        let saved = states::parse::<C>(json, None)?;
        TestPhone::new::<C>(vars)?.seeded(saved)
    }

    /// [`TestPhone::from_state`] for a state saved under `version` of `C`'s state (an older
    /// one is read through [`Conversation::upgrade`] on the next message, as the worker
    /// would); a `state_version` in `json` wins over `version`.
    pub fn from_state_version<C: Conversation>(
        vars: &[(&str, &str)],
        version: u32,
        json: &str,
    ) -> Result<TestPhone, SavedStateError> {
        let saved = states::parse::<C>(json, Some(version))?;
        TestPhone::new::<C>(vars)?.seeded(saved)
    }

    /// The pair's cookie now holds a record with `saved`'s state and count.
    fn seeded(mut self, saved: states::Snapshot) -> Result<TestPhone, SavedStateError> {
        let record = Record {
            seq: 1,
            count: saved.count,
            first_seen: self.now,
            last_seen: self.now,
            state: saved.state,
            ..Record::default()
        };
        let storage = Storage::<MapKv>::new(
            &self.setup.config.storage,
            self.pair(),
            self.now,
            None,
            None,
        );
        let loaded = crate::storage::Loaded::default();
        let stored = storage.save(&record, crate::storage::Change::Counted, &loaded);
        let set_cookie = stored
            .set_cookie
            .ok_or_else(|| SavedStateError::NoCookie(stored.error.map(|e| e.to_string())))?;
        self.keep_cookie(&set_cookie);
        Ok(self)
    }

    /// A phone over the default vars and `vars`, its setup made by `setup`.
    fn configured(
        vars: &[(&str, &str)],
        setup: impl FnOnce(&Vars<'_>) -> Result<Setup, ConfigError>,
    ) -> Result<TestPhone, ConfigError> {
        let mut map = BTreeMap::from([
            ("TWILIO_AUTH_TOKEN".to_string(), TEST_AUTH_TOKEN.to_string()),
            (
                "SESSION_SECRET".to_string(),
                TEST_SESSION_SECRET.to_string(),
            ),
        ]);
        map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let lookup = |name: &str| map.get(name).cloned();
        let setup = Rc::new(setup(&Vars::new(&lookup))?);
        Ok(TestPhone {
            setup,
            vars: map,
            from: "+14155550100".into(),
            to: "+15005550006".into(),
            jar: None,
            now: TEST_START,
            sent: 0,
            memory: Memory::default(),
            kv: None,
            http: Rc::new(FakeHttp::default()),
            objects: None,
            last: None,
        })
    }

    /// The same phone texting from `number`.
    pub fn from(mut self, number: &str) -> Self {
        self.from = number.into();
        self
    }

    /// The same phone texting your number `number` (`+15005550006` by default; a
    /// `whatsapp:` address for a WhatsApp sender).
    pub fn to(mut self, number: &str) -> Self {
        self.to = number.into();
        self
    }

    /// The same phone with the `CONVERSATIONS` KV namespace bound.
    pub fn with_kv(mut self) -> Self {
        self.kv = Some(MapKv::default());
        self
    }

    /// The same phone with the `CONVERSATION_OBJECTS` Durable Objects bound (in memory).
    pub fn with_objects(mut self) -> Self {
        self.objects = Some(LocalObjects {
            setup: Rc::clone(&self.setup),
            vars: self.vars.clone(),
            http: Rc::clone(&self.http),
            now: Rc::new(Cell::new(self.now)),
            stores: RefCell::default(),
            unreachable: Cell::new(false),
        });
        self
    }

    /// The objects, when bound.
    pub fn objects(&self) -> Option<&LocalObjects> {
        self.objects.as_ref()
    }

    /// `POST /conversations` with `json` and `Authorization: Bearer <bearer>`: the status and
    /// the body.
    pub fn start_conversation(&mut self, bearer: &str, json: &str) -> (u16, String) {
        self.start_conversation_with_key(bearer, None, json)
    }

    /// `POST /conversations` as [`TestPhone::start_conversation`], with an `Idempotency-Key`.
    pub fn start_conversation_with_key(
        &mut self,
        bearer: &str,
        key: Option<&str>,
        json: &str,
    ) -> (u16, String) {
        self.sync_clock();
        let auth = format!("Bearer {bearer}");
        let request = HttpRequest {
            method: "POST",
            url: "https://sms.example.workers.dev/conversations",
            content_type: Some("application/json"),
            authorization: Some(&auth),
            idempotency_key: key,
            body: Body::Read(json.as_bytes()),
            ..Default::default()
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        let handled = block_on(app::handle(Ok(&self.setup), &request, &runtime));
        (handled.response.status, handled.response.body)
    }

    /// What the worker lends a webhook: this phone's clock, memory, KV, objects and fakes.
    fn runtime<'a>(&'a self, lookup: &'a dyn Fn(&str) -> Option<String>) -> Runtime<'a, MapKv> {
        Runtime {
            kv: self.kv.as_ref(),
            memory: Some(&self.memory),
            objects: self.objects.as_ref().map(|o| o as &dyn Objects),
            ..Runtime::new(self.now, Vars::new(lookup), Rc::clone(&self.http) as _)
        }
    }

    fn sync_clock(&self) {
        if let Some(objects) = &self.objects {
            objects.now.set(self.now);
        }
    }

    /// Texts `body`, as a new message.
    pub fn text(&mut self, body: &str) -> Exchange {
        self.sent += 1;
        self.now += 1;
        let sid = format!("SM{:032x}", self.sent);
        let cookie = self.cookie().map(str::to_string);
        self.deliver(sid, body.to_string(), cookie)
    }

    /// Delivers the last message again, with the same MessageSid and the cookie it carried,
    /// as Twilio's retries do.
    ///
    /// # Panics
    /// Before any message was sent.
    pub fn retry(&mut self) -> Exchange {
        let last = self
            .last
            .take()
            .expect("retry() needs a message sent before");
        self.deliver(last.sid, last.body, last.cookie)
    }

    /// Twilio's retry of the last message reaching another isolate: the same MessageSid and
    /// the cookie the first attempt carried (Twilio never got the first answer's), to an
    /// isolate whose memory is empty. Without the objects the worker cannot tell it is a
    /// retry and `reply` runs again; with them the pair's object answers it.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
    /// phone.text("hi");
    /// let again = phone.retry_elsewhere();
    /// assert_eq!((again.outcome, again.texts()), ("reply", vec!["Hello, thanks for the new message."]));
    /// ```
    ///
    /// # Panics
    /// Before any message was sent.
    pub fn retry_elsewhere(&mut self) -> Exchange {
        self.try_retry_elsewhere()
            .expect("retry_elsewhere() needs a message sent before")
    }

    /// [`TestPhone::retry_elsewhere`], `None` before any message was sent.
    fn try_retry_elsewhere(&mut self) -> Option<Exchange> {
        let last = self.last.take()?;
        self.new_isolate();
        Some(self.deliver(last.sid, last.body, last.cookie))
    }

    /// Twilio's status callback for a message the worker sent through the Messages API: posted,
    /// signed, to the `StatusCallback` URL the send gave (`callback`), for message `sid` now
    /// `status` (with an `ErrorCode` when given). The HTTP status of the answer.
    pub fn status_callback(
        &mut self,
        callback: &str,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> u16 {
        self.sync_clock();
        let mut fields = vec![
            ("AccountSid", TEST_ACCOUNT_SID),
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("From", self.to.as_str()),
            ("To", self.from.as_str()),
            ("ApiVersion", "2010-04-01"),
        ];
        if let Some(code) = error_code {
            fields.push(("ErrorCode", code));
        }
        let form = serde_urlencoded::to_string(&fields).unwrap_or_default();
        let sig = self.sign(callback, &form);
        let request = HttpRequest {
            method: "POST",
            url: callback,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(&sig),
            body: Body::Read(form.as_bytes()),
            ..Default::default()
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        block_on(app::handle(Ok(&self.setup), &request, &runtime))
            .response
            .status
    }

    /// Drops the pair's cookie, as Twilio may.
    pub fn lose_cookie(&mut self) {
        self.jar = None;
    }

    /// Lets `seconds` pass (the cookie goes when its `Max-Age` has); with objects bound,
    /// the alarms that fall due meanwhile fire, in order.
    pub fn wait(&mut self, seconds: u64) {
        let until = self.now + seconds;
        while let Some(at) = self
            .objects
            .as_ref()
            .and_then(|o| o.next_alarm())
            .filter(|at| *at <= until)
        {
            self.now = at.max(self.now);
            self.sync_clock();
            if let Some(objects) = &self.objects {
                objects.fire_alarms();
            }
        }
        self.now = until;
        self.sync_clock();
    }

    /// The next messages reach another isolate, which remembers nothing.
    pub fn new_isolate(&mut self) {
        self.memory = Memory::default();
    }

    /// The cookie the phone would send now.
    pub fn cookie(&self) -> Option<&str> {
        self.jar
            .as_ref()
            .filter(|(_, expires)| self.now < *expires)
            .map(|(c, _)| c.as_str())
    }

    /// Replaces the pair's cookie (e.g. with an older one).
    pub fn set_cookie(&mut self, cookie: Option<String>) {
        self.jar = cookie.map(|c| (c, u64::MAX));
    }

    /// The newest record the worker can find for the pair (the object's, or else the
    /// cookie, memory, KV).
    pub fn record(&self) -> Record {
        if let Some(objects) = &self.objects {
            let name = self.setup.config.storage.keys.object_name(&self.pair());
            let store = objects.store(&name);
            if let Some(sealed) =
                block_on(crate::objects::ObjectStore::get(store.as_ref(), "record"))
                    .ok()
                    .flatten()
            {
                if let Ok(crate::seal::Opened::Record(r)) = self.setup.config.storage.keys.open(
                    &sealed,
                    crate::seal::Place::Object,
                    &self.pair(),
                    self.now,
                ) {
                    return r;
                }
            }
        }
        let storage = Storage::new(
            &self.setup.config.storage,
            self.pair(),
            self.now,
            self.kv.as_ref(),
            Some(&self.memory),
        );
        block_on(storage.load(self.cookie())).record
    }

    /// The conversation's count.
    pub fn count(&self) -> u64 {
        self.record().count
    }

    /// The conversation's own state, read as `T` (its `Default` when it holds none).
    pub fn state<T: DeserializeOwned + Default>(&self) -> T {
        let json = self.record().state.json;
        if json.is_empty() {
            return T::default();
        }
        serde_json::from_str(&json).unwrap_or_default()
    }

    /// The fake HTTP client conversations call.
    pub fn http(&self) -> &FakeHttp {
        &self.http
    }

    /// The KV namespace, when bound.
    pub fn kv(&self) -> Option<&MapKv> {
        self.kv.as_ref()
    }

    /// The phone's clock (Unix seconds).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The sender's number.
    pub fn from_number(&self) -> &str {
        &self.from
    }

    fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: TEST_ACCOUNT_SID,
            to: &self.to,
            from: &self.from,
        }
    }

    fn deliver(&mut self, sid: String, body: String, cookie: Option<String>) -> Exchange {
        self.sync_clock();
        let (form, sig) = self.signed_form(&sid, &body);
        let request = HttpRequest {
            method: "POST",
            url: TEST_URL,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: Some(&sig),
            cookie: cookie.as_deref(),
            authorization: None,
            idempotency_key: None,
            body: Body::Read(form.as_bytes()),
        };
        let vars = &self.vars;
        let lookup = |name: &str| vars.get(name).cloned();
        let runtime = self.runtime(&lookup);
        let handled = block_on(app::handle(Ok(&self.setup), &request, &runtime));
        let response = handled.response;
        if let Some(kv) = &self.kv {
            kv.apply(handled.writes);
        }
        let after_reply_errors = run_after_reply(handled.after_reply);
        if let Some(set) = &response.set_cookie {
            self.keep_cookie(set);
        }
        self.last = Some(Sent { sid, body, cookie });
        Exchange {
            status: response.status,
            messages: parse_twiml(&response.body),
            outcome: response.log.outcome.name(),
            source: response.log.source,
            set_cookie: response.set_cookie,
            body: response.body,
            after_reply_errors,
            logged_segments: response.log.segments,
        }
    }

    /// The form of a webhook of this pair, and its `X-Twilio-Signature` under the first
    /// auth token.
    fn signed_form(&self, sid: &str, body: &str) -> (String, String) {
        let form = serde_urlencoded::to_string([
            ("AccountSid", TEST_ACCOUNT_SID),
            ("MessageSid", sid),
            ("From", self.from.as_str()),
            ("To", self.to.as_str()),
            ("Body", body),
            ("NumMedia", "0"),
        ])
        .unwrap_or_default();
        let sig = self.sign(TEST_URL, &form);
        (form, sig)
    }

    /// Twilio's `X-Twilio-Signature` of a POST of `form` to `url`, under the first auth token.
    fn sign(&self, url: &str, form: &str) -> String {
        let params = crate::twilio::params::parse_params(form.as_bytes()).unwrap_or_default();
        let data = signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        let token = self
            .vars
            .get("TWILIO_AUTH_TOKEN")
            .map_or(TEST_AUTH_TOKEN, |t| t.split(',').next().unwrap_or(""));
        signature::expected_signature(token, url, &data)
    }

    /// Stores a `Set-Cookie` as Twilio's jar would: the value until `Max-Age`, or nothing.
    fn keep_cookie(&mut self, set_cookie: &str) {
        let max_age = set_cookie
            .split(';')
            .filter_map(|attr| attr.trim().strip_prefix("Max-Age="))
            .find_map(|v| v.parse::<u64>().ok())
            .unwrap_or(4 * 3600);
        let value = set_cookie.split(';').next().unwrap_or("");
        self.jar = (max_age > 0 && !our_cookie_values(value).iter().all(String::is_empty))
            .then(|| (value.to_string(), self.now + max_age));
    }
}

/// Runs the work handed over after the reply, as the worker's `wait_until` does; `name:
/// error` of each task that failed, numbers masked as the worker logs it.
fn run_after_reply(tasks: Vec<AfterReply>) -> Vec<String> {
    tasks
        .into_iter()
        .filter_map(|task| {
            block_on(task.work)
                .err()
                .map(|e| format!("{}: {}", task.name, crate::mask::mask_numbers(&e)))
        })
        .collect()
}

/// The messages of a TwiML document: each `<Message>`'s text (or `<Body>`) and `<Media>`,
/// read with quick-xml's reader, independently of how the worker writes them.
fn parse_twiml(xml: &str) -> Vec<(String, Vec<String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut read = TwimlMessages::default();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => read.start(e.name().as_ref()),
            Ok(Event::End(e)) => read.end(e.name().as_ref()),
            Ok(Event::Text(t)) => read.text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => {
                let text = match r.as_ref() {
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    _ => r
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(String::from)
                        .unwrap_or_default(),
                };
                read.text(&text);
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    read.messages
}

/// The messages [`parse_twiml`] has read so far, and where in them the reader is.
#[derive(Default)]
struct TwimlMessages {
    messages: Vec<(String, Vec<String>)>,
    in_media: bool,
    in_message: bool,
}

impl TwimlMessages {
    fn start(&mut self, name: &str) {
        match name {
            "Message" => {
                self.messages.push((String::new(), Vec::new()));
                self.in_message = true;
            }
            "Media" => {
                self.in_media = true;
                if let Some(m) = self.messages.last_mut() {
                    m.1.push(String::new());
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "Media" => self.in_media = false,
            "Message" => self.in_message = false,
            _ => {}
        }
    }

    /// Text (or a resolved reference): a media URL, or the message's text.
    fn text(&mut self, text: &str) {
        let Some(m) = self.messages.last_mut() else {
            return;
        };
        if self.in_media {
            if let Some(url) = m.1.last_mut() {
                url.push_str(text);
            }
        } else if self.in_message {
            m.0.push_str(text);
        }
    }
}

#[cfg(test)]
mod tests;
