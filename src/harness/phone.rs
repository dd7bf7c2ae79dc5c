//! The test phone: one pair texting through the whole webhook path.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{
    block_on, FakeHttp, LocalObjects, MapKv, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN,
    TEST_SESSION_SECRET, TEST_START,
};
use crate::app::{self, Body, HttpRequest, Runtime, Setup};
use crate::conversation::{Budget, Clock, Conversation};
use crate::object_calls::Objects;
use crate::record::Pair;
use crate::registry::Conversations;
use crate::response::Handled;
use crate::storage::Memory;
use crate::vars::{ConfigError, Vars};

mod jar;
mod look;
mod posts;
mod saved;
mod sent;
mod texting;

pub use sent::{SentMessage, SentTemplate};

/// How a phone's worker is set up from its vars: kept, so that a phone given more vars
/// ([`TestPhone::with_outbound`]) is set up again as the worker would be with them.
type Build = Rc<dyn Fn(&Vars<'_>) -> Result<Setup, ConfigError>>;

/// The last message as Twilio sent it, which its retries send again unchanged (the cookie
/// too: Twilio's retry never carries the first attempt's answer).
struct Sent {
    sid: String,
    body: String,
    cookie: Option<String>,
}

/// A phone texting one conversation through the whole webhook path, keeping the cookie as
/// Twilio does (one jar per pair, gone after `Max-Age`), with the isolate's memory and,
/// optionally, KV.
///
/// ```
/// use sms_conversation_worker::conversations::Survey;
/// use sms_conversation_worker::prelude::*;
///
/// // The objects (follow-ups, starts) and the outbound settings, in one line.
/// let mut phone = TestPhone::new::<Survey>(&[("SURVEY_REMINDER_SECONDS", "60")])
///     .unwrap()
///     .with_objects()
///     .with_outbound();
/// assert_eq!(phone.text("hi").texts(), ["Hi! What's your name?"]);
/// // Moving the clock fires the objects' alarms that fall due: the reminder goes out.
/// phone.wait(120);
/// let sent: Vec<SentMessage> = phone.sent();
/// assert_eq!(sent[0].text(), "Just checking in: What's your name?");
/// assert_eq!(phone.text("Ada").texts(), ["Thanks, Ada. What's your 5-digit ZIP code?"]);
/// ```
pub struct TestPhone {
    setup: Rc<Setup>,
    build: Build,
    vars: BTreeMap<String, String>,
    /// The conversation's name, for the failure of a state too large to keep.
    name: String,
    /// Whether a state too large to keep is what the test checks, rather than its failure.
    too_large_allowed: bool,
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

impl TestPhone {
    /// A phone texting conversation `C`, configured with `vars` over a signed default
    /// (`TWILIO_AUTH_TOKEN`, `SESSION_SECRET`). Fails as the worker would on a bad setting.
    pub fn new<C: Conversation>(vars: &[(&str, &str)]) -> Result<TestPhone, ConfigError> {
        let build = Rc::new(|vars: &Vars<'_>| Setup::with::<C>(vars));
        TestPhone::configured(vars, build, C::NAME)
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
        let conversations = *conversations;
        let build = move |vars: &Vars<'_>| Setup::from_vars(vars, &conversations);
        TestPhone::configured(&vars, Rc::new(build), name)
    }

    /// A phone over the default vars and `vars`, its setup made by `build`, texting the
    /// conversation called `name`.
    fn configured(
        vars: &[(&str, &str)],
        build: Build,
        name: &str,
    ) -> Result<TestPhone, ConfigError> {
        let vars = over_defaults(vars);
        let setup = Rc::new(set_up(&build, &vars)?);
        Ok(TestPhone::fresh(setup, build, vars, name))
    }

    /// A phone that has sent nothing yet, with no cookie, KV or objects, its clock at
    /// [`TEST_START`].
    fn fresh(
        setup: Rc<Setup>,
        build: Build,
        vars: BTreeMap<String, String>,
        name: &str,
    ) -> TestPhone {
        TestPhone {
            setup,
            build,
            vars,
            name: name.to_string(),
            too_large_allowed: false,
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
        }
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
        self.objects = Some(LocalObjects::new(
            Rc::clone(&self.setup),
            self.vars.clone(),
            Rc::clone(&self.http),
            self.now,
        ));
        self
    }

    /// The objects, when bound.
    pub fn objects(&self) -> Option<&LocalObjects> {
        self.objects.as_ref()
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

    /// What the worker lends a webhook: this phone's clock, memory, KV, objects and fakes.
    fn runtime<'a>(
        &'a self,
        lookup: &'a dyn Fn(&str) -> Option<String>,
        clock: Clock<'a>,
    ) -> Runtime<'a, MapKv> {
        let budget_ms = self.setup.config.reply_budget_seconds * 1000;
        Runtime {
            kv: self.kv.as_ref(),
            memory: Some(&self.memory),
            objects: self.objects.as_ref().map(|o| o as &dyn Objects),
            budget: Some(Budget::new(clock() + budget_ms, clock)),
            ..Runtime::new(self.now, Vars::new(lookup), Rc::clone(&self.http) as _)
        }
    }

    /// The worker's settings checked against the stores bound, as the worker checks them on
    /// its first request: the error every request answers `500 misconfigured` with. The vars
    /// and the stores may be given in any order; the check is made when the phone is used.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::Counter;
    /// use sms_conversation_worker::harness::TestPhone;
    /// let day = [("CONVERSATION_TTL_SECONDS", "86400")];
    /// // A day idle needs a store: Twilio keeps the cookie 4 hours.
    /// let error = TestPhone::new::<Counter>(&day).unwrap().check().unwrap_err();
    /// assert_eq!(error.variable, "CONVERSATION_TTL_SECONDS");
    /// assert!(TestPhone::new::<Counter>(&day).unwrap().with_objects().check().is_ok());
    /// assert!(TestPhone::new::<Counter>(&day).unwrap().with_kv().check().is_ok());
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        let (kv, objects) = (self.kv.is_some(), self.objects.is_some());
        self.setup.config.check_stores(kv, objects)
    }

    /// Runs `request` through the worker as the runtime would, the objects' clock set to the
    /// phone's first: the objects keep their own clock, as they run apart from the isolate.
    fn handle(&self, request: &HttpRequest<'_>) -> Handled {
        self.sync_clock();
        let lookup = |name: &str| self.vars.get(name).cloned();
        let clock = clock(&self.http, self.now);
        let runtime = self.runtime(&lookup, &clock);
        let checked = self.check();
        let setup = checked.as_ref().map(|()| &*self.setup);
        block_on(app::handle(setup, request, &runtime))
    }

    /// Sets the objects' clock to the phone's, before anything can reach them.
    fn sync_clock(&self) {
        self.http.restart_clock();
        if let Some(objects) = &self.objects {
            objects.set_now(self.now);
        }
    }

    /// The pair the phone texts as: the record's keys and the cookie's seal are bound to it.
    fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: TEST_ACCOUNT_SID,
            to: &self.to,
            from: &self.from,
        }
    }
}

/// The test phone's clock in milliseconds: `now` (seconds) and the time the fake calls took
/// since it was set, as the worker's `Date.now()` would move during a slow call.
pub(super) fn clock(http: &FakeHttp, now: u64) -> impl Fn() -> u64 + '_ {
    move || now * 1000 + http.elapsed_ms()
}

/// The worker `build` sets up from `vars`.
fn set_up(build: &Build, vars: &BTreeMap<String, String>) -> Result<Setup, ConfigError> {
    let lookup = |name: &str| vars.get(name).cloned();
    build(&Vars::new(&lookup))
}

/// The default vars under `vars`: a phone is signed and sealed unless told otherwise.
fn over_defaults(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
    let defaults = [
        ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
        ("SESSION_SECRET", TEST_SESSION_SECRET),
    ];
    defaults
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A form POST as Twilio makes it, signed with `signature`: its webhooks and status callbacks.
fn form_post<'a>(url: &'a str, signature: &'a str, form: &'a str) -> HttpRequest<'a> {
    HttpRequest {
        method: "POST",
        url,
        content_type: Some("application/x-www-form-urlencoded"),
        signature: Some(signature),
        body: Body::Read(form.as_bytes()),
        ..Default::default()
    }
}
