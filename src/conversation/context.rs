//! What a conversation may use besides its state: settings, clock, outside calls (the
//! platform's `fetch`, called statically), the idempotency key and the after-reply queue.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use super::budget::Budget;
use super::client::{self, ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture};
use crate::vars::Vars;

/// Work handed to the runtime to finish after the reply is sent (`ctx.wait_until` in the
/// worker); an `Err` is logged with the task's name.
///
/// ```
/// use std::rc::Rc;
/// use sms_conversation_worker::harness::block_on;
/// use sms_conversation_worker::prelude::*;
///
/// let lookup = |_: &str| None;
/// let ctx = Context::new(Vars::new(&lookup), Rc::new(FakeHttp::default()), 1_700_000_000);
/// ctx.after_reply("audit", async { Err("the audit log is down".to_string()) });
/// // The runtime takes the queue once the reply is built, and runs it after the answer.
/// let tasks: Vec<AfterReply> = ctx.take_after_reply();
/// assert_eq!(tasks[0].name, "audit");
/// let task = tasks.into_iter().next().unwrap();
/// assert_eq!(block_on(task.work), Err("the audit log is down".to_string()));
/// ```
///
/// Through the test phone, a failed task shows in [`crate::harness::Exchange::after_reply_errors`]
/// (the reply went out all the same).
pub struct AfterReply {
    /// Names the task in the log.
    pub name: &'static str,
    /// The work.
    pub work: LocalFuture<'static, Result<(), String>>,
}

/// What a conversation may use besides its state: its settings, the clock, an HTTP
/// client, and the runtime's "after the reply" queue.
///
/// A conversation reads its settings, the clock and outside services through it:
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// /// Tells the opening hours an API gives, or a fallback from its settings.
/// struct Hours;
///
/// impl Conversation for Hours {
///     const NAME: &'static str = "hours";
///     type State = ();
///     fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
///         Ok(Hours)
///     }
///     async fn reply(&self, _: &InboundMessage, _: &View<'_>, _: &mut (), ctx: &Context<'_>) -> Reply {
///         let api = ctx.var("HOURS_API").unwrap_or_default();
///         match ctx.fetch(ClientRequest::get(api)).await {
///             Ok(r) if r.is_success() => Reply::text(String::from_utf8_lossy(&r.body).into_owned()),
///             _ => Reply::text(ctx.var("HOURS_FALLBACK").unwrap_or_else(|| "9 to 5".into())),
///         }
///     }
/// }
///
/// let mut phone = TestPhone::new::<Hours>(&[("HOURS_API", "https://hours.test/today")]).unwrap();
/// phone.http().respond("https://hours.test/today", 200, "8 to 6 today");
/// assert_eq!(phone.text("hours?").texts(), ["8 to 6 today"]);
/// phone.http().respond("https://hours.test/today", 503, "");
/// assert_eq!(phone.text("hours?").texts(), ["9 to 5"]);
/// ```
pub struct Context<'a> {
    /// The worker's vars and secrets: a conversation reads its own settings when it needs them.
    vars: Vars<'a>,
    /// The client the runtime handed over; [`PlatformFetch`](super::client::PlatformFetch)
    /// stands for the platform's `fetch`, called directly.
    http: Rc<dyn HttpClient>,
    /// The message's time, fixed for the whole run so that a conversation sees one clock.
    now: u64,
    /// Work queued by [`Context::after_reply`], taken by the runtime once the reply is built.
    after_reply: RefCell<Vec<AfterReply>>,
    /// The account and the id of what is being answered or sent, when known.
    message: Option<(String, String)>,
    /// Its key, made when first asked for: a worker whose conversation never asks carries
    /// none of the code.
    idempotency_key: std::cell::OnceCell<String>,
    /// With `DEV_RECORD_FETCHES`: each outside call and its answer, as a transcript's `fake`
    /// (a JSON array, written as they come), for the dev phone to save.
    recorded: Option<RefCell<String>>,
    /// What [`Context::note`] asked the log line to say: JSON members, written as they come.
    notes: RefCell<String>,
    /// The webhook's answer budget, when the runtime gave one: a budget that cuts holds each
    /// [`Context::fetch`] to the time left in it.
    budget: Option<Budget<'a>>,
}

impl<'a> Context<'a> {
    /// A context over `vars`, `http` and the time `now` (Unix seconds).
    pub fn new(vars: Vars<'a>, http: Rc<dyn HttpClient>, now: u64) -> Self {
        Context {
            vars,
            http,
            now,
            after_reply: RefCell::new(Vec::new()),
            message: None,
            idempotency_key: std::cell::OnceCell::new(),
            recorded: None,
            notes: RefCell::default(),
            budget: None,
        }
    }

    /// The same context measured against `budget` (none: no deadline of its own).
    pub(crate) fn within(mut self, budget: Option<Budget<'a>>) -> Self {
        self.budget = budget;
        self
    }

    /// The same context keeping each [`Context::fetch`] and its answer (`DEV_RECORD_FETCHES`,
    /// local development only: the answers go back in a response header).
    pub(crate) fn recording(mut self) -> Self {
        self.recorded = Some(RefCell::default());
        self
    }

    /// The calls recorded so far, as a JSON array of transcript fakes; `None` when not
    /// recording, or when there were none.
    pub(crate) fn take_recorded(&self) -> Option<String> {
        let mut json = std::mem::take(&mut *self.recorded.as_ref()?.borrow_mut());
        if json.is_empty() {
            return None;
        }
        json.push(']');
        Some(json)
    }

    /// The same context answering the message (or sending the follow-up or opening) that
    /// `id` names in `account_sid`: a MessageSid for a webhook, the send's own id for a
    /// follow-up or a start. Give the same `id` on every attempt at the same message, so
    /// that [`Context::idempotency_key`] is the same on each.
    pub(crate) fn for_message(mut self, account_sid: &str, id: &str) -> Self {
        self.message = (!id.is_empty()).then(|| (account_sid.to_string(), id.to_string()));
        self
    }

    /// Any var or secret by name (trimmed; `None` when unset or blank).
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name)
    }

    /// Unix seconds of this message.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// A key for the message being answered, the same on every retry of it and different for
    /// every other message: send it with your calls that change something
    /// ([`ClientRequest::idempotency_key`]), so that the other side can do the work once.
    ///
    /// It is needed because `reply` can run more than once for one message. With the
    /// Durable Objects (`CONVERSATION_OBJECTS` bound) the pair's object answers a retried
    /// MessageSid with the kept answer, without calling `reply`, as long as the object
    /// answers: when it cannot be reached the worker answers from the cookie, as without
    /// the objects. Without them a retry that reaches the isolate that answered first is
    /// answered from its memory (while it remembers the pair), but one that reaches another isolate carries the cookie
    /// the first attempt came with (Twilio never got the first answer, nor its cookie), and
    /// that one has not seen the message: `reply` runs again.
    ///
    /// 64 hex digits: SHA-256 over the AccountSid and the MessageSid, so the outside API
    /// sees no Twilio identifier it could look the message up by. `None` for a context made
    /// with [`Context::new`] alone (your own tests), which answers no particular message.
    ///
    /// ```
    /// # use sms_conversation_worker::conversation::{ClientRequest, Context};
    /// # async fn example(ctx: &Context<'_>) {
    /// let order = ClientRequest::post_json("https://shop.example/orders", &["one dog bed"])
    ///     .idempotency_key(ctx.idempotency_key());
    /// let _ = ctx.fetch(order).await;
    /// # }
    /// ```
    pub fn idempotency_key(&self) -> Option<&str> {
        let (account_sid, id) = self.message.as_ref()?;
        Some(
            self.idempotency_key
                .get_or_init(|| idempotency_key(account_sid, id)),
        )
    }

    /// Sends a request and waits for the answer, within the request's timeout. When the
    /// reply cannot go late (no pair's object with the Messages API to send it on its own),
    /// the timeout is also cut to the time left in the webhook's budget
    /// (`REPLY_BUDGET_SECONDS`), so the conversation gets [`ClientError::Timeout`] in time to
    /// answer before Twilio stops waiting.
    pub async fn fetch(&self, mut request: ClientRequest) -> Result<ClientResponse, ClientError> {
        if let Some(budget) = &self.budget {
            request.timeout = budget.cap(request.timeout);
        }
        let call = self
            .recorded
            .as_ref()
            .map(|_| (request.method.clone(), request.url.clone()));
        let answer = if self.http.is_platform() {
            platform_fetch(request).await
        } else {
            self.http.send(request).await
        };
        if let (Some(recorded), Some((method, url))) = (&self.recorded, call) {
            let mut json = recorded.borrow_mut();
            let separator = if json.is_empty() { '[' } else { ',' };
            json.push(separator);
            json.push_str(&client::fake_json(&method, &url, &answer));
        }
        answer
    }

    /// The HTTP client, for work done after the reply.
    pub fn http(&self) -> Rc<dyn HttpClient> {
        if self.http.is_platform() {
            return Rc::new(Platform);
        }
        Rc::clone(&self.http)
    }

    /// Hands `work` to the runtime to finish after the reply is on its way: it neither
    /// delays nor changes the reply, and its error is logged with `name` (numbers in it
    /// masked, [`crate::mask::mask_numbers`]). Workers give it about 30 s after the response.
    pub fn after_reply(
        &self,
        name: &'static str,
        work: impl Future<Output = Result<(), String>> + 'static,
    ) {
        self.after_reply.borrow_mut().push(AfterReply {
            name,
            work: Box::pin(work),
        });
    }

    /// Adds `name: detail` to the log line of what is being answered or sent (its
    /// `"notes"`): a limit the conversation hit, a fallback it took. The line is how an
    /// operator learns that a conversation stopped short, so a limit is never silent. A
    /// name given again keeps both. Never put a message body or a secret in `detail`.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use sms_conversation_worker::prelude::*;
    /// use sms_conversation_worker::vars::Vars;
    ///
    /// let lookup = |_: &str| None;
    /// let ctx = Context::new(Vars::new(&lookup), Rc::new(FakeHttp::default()), 0);
    /// ctx.note("quiz_stopped", "ran out of questions");
    /// assert_eq!(ctx.take_notes(), r#""quiz_stopped":"ran out of questions""#);
    /// ```
    pub fn note(&self, name: &'static str, detail: &str) {
        push_note(&mut self.notes.borrow_mut(), name, detail);
    }

    /// What [`Context::note`] was given so far, as the members of a JSON object
    /// (`"name":"detail",…`), and forgets it: empty when nothing was noted.
    pub fn take_notes(&self) -> String {
        std::mem::take(&mut *self.notes.borrow_mut())
    }

    /// The work queued with [`Context::after_reply`].
    pub fn take_after_reply(&self) -> Vec<AfterReply> {
        std::mem::take(&mut *self.after_reply.borrow_mut())
    }
}

/// The platform's `fetch` as a client, for work after the reply ([`Context::http`]).
struct Platform;

impl HttpClient for Platform {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
        platform_fetch(request)
    }
}

/// The Workers runtime's `fetch` (natively every call fails): called only from
/// [`Context::fetch`] and [`Context::http`], so a conversation that never makes a request
/// carries none of its code.
fn platform_fetch(
    request: ClientRequest,
) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::platform::fetch(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = request;
        Box::pin(async {
            Err(ClientError::Failed(
                "no fetch outside the Workers runtime".into(),
            ))
        })
    }
}

/// The hex SHA-256 of `account_sid` and `id`, length-prefixed under the key's purpose so
/// that it is no other hash the crate makes of the same SIDs.
pub(crate) fn idempotency_key(account_sid: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    crate::fields::length_prefixed(
        ["sms-conversation-worker idempotency v1", account_sid, id],
        |b| hash.update(b),
    );
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(64);
    for byte in hash.finalize() {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 15)]));
    }
    key
}

#[cfg(test)]
mod tests;

/// Adds `"name":"detail"` to `notes`, the members of a log line's `"notes"` object (see
/// [`Context::note`]): also for what the framework itself notes after the conversation's
/// context is gone (a record the pair's object did not keep).
pub(crate) fn push_note(notes: &mut String, name: &str, detail: &str) {
    if !notes.is_empty() {
        notes.push(',');
    }
    for text in [name, detail] {
        // A str always serialises.
        notes.push_str(&serde_json::to_string(text).unwrap_or_default());
        notes.push(':');
    }
    notes.pop();
}
