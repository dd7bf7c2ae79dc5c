//! One webhook, on one screen: route → authenticate → intent → load → converse → save →
//! render.
//!
//! Plain Rust over plain request/response values, so the whole path is tested natively;
//! the Workers adapter only copies a request in and a response out. Every way a request
//! can fail is a [`Rejection`], and [`Rejection::status`] is the one place that maps them
//! to HTTP statuses.

use std::rc::Rc;

use crate::config::{Config, Verification, WebhookMethod};
use crate::conversation::{
    Context, Conversation, Converse, HttpClient, Ran, Reply, StateError, Turn,
};
use crate::mask::mask_number;
use crate::objects::calls::Objects;
#[cfg(feature = "objects")]
use crate::objects::calls::{ObjectAnswer, ObjectError, StartCall, StatusCall, WebhookCall};
use crate::record::Pair;
use crate::record::Record;
use crate::registry::Conversations;
use crate::response::{HttpResponse, LogEvent, Outcome, Rejection};
use crate::storage::{Change, Loaded, Memory, Storage, Store};
use crate::twilio::params::{self, InboundMessage, Params};
use crate::twilio::{segments, signature, twiml};
use crate::vars::{ConfigError, Vars};

pub use crate::response::{Handled, MAX_BODY_BYTES};

#[cfg(all(feature = "state-api", any(feature = "kv", feature = "objects")))]
pub mod state;

/// The reply to a reset keyword.
pub const RESET_REPLY: &str = "Your conversation has been reset.";

/// Twilio's opt-out keywords (Advanced Opt-Out's defaults). On SMS Twilio confirms the
/// opt-out itself and refuses anything sent after it (error 21610), so the answer is an empty
/// `<Response/>`; on WhatsApp nothing stops a sender but the pair's own opt-out.
const STOP_KEYWORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];

/// Twilio's opt-in keywords. `YES` opts in only a person who opted out: from anyone else it
/// is an answer like any other.
const START_KEYWORDS: &[&str] = &["START", "UNSTOP"];
const YES: &str = "YES";

/// Twilio's help keywords, answered with `HELP_REPLY` when it is set.
const HELP_KEYWORDS: &[&str] = &["HELP", "INFO"];

/// What an isolate builds once from its vars: the core configuration and the conversation.
pub struct Setup {
    /// The core's settings.
    pub config: Config,
    /// The conversation `CONVERSATION` selects.
    pub conversation: Box<dyn Converse>,
}

impl Setup {
    /// Reads the core configuration and the conversation `CONVERSATION` names among
    /// `conversations`.
    pub fn from_vars(vars: &Vars<'_>, conversations: &Conversations) -> Result<Setup, ConfigError> {
        Ok(Setup {
            config: Config::from_vars(vars)?,
            conversation: conversations.select(vars)?,
        })
    }

    /// The same with a conversation of your own, whatever `CONVERSATION` says.
    pub fn with<C: Conversation>(vars: &Vars<'_>) -> Result<Setup, ConfigError> {
        Ok(Setup {
            config: Config::from_vars(vars)?,
            conversation: Box::new(C::new(vars)?),
        })
    }
}

/// The parts of an HTTP request the webhook looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpRequest<'a> {
    /// `GET`, `POST`, ….
    pub method: &'a str,
    /// The full URL as the runtime hands it over.
    pub url: &'a str,
    /// `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// `X-Twilio-Signature` header.
    pub signature: Option<&'a str>,
    /// `Cookie` header.
    pub cookie: Option<&'a str>,
    /// `Authorization` header (only `POST /conversations` reads it).
    pub authorization: Option<&'a str>,
    /// `Idempotency-Key` header (only `POST /conversations` reads it).
    pub idempotency_key: Option<&'a str>,
    /// The body (empty for GET), or why it could not be read.
    pub body: Body<'a>,
}

/// A request body as the runtime delivered it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The bytes.
    Read(&'a [u8]),
    /// Larger than [`MAX_BODY_BYTES`] (announced or found so): not read.
    TooLarge,
    /// The runtime failed to read it (a client that went away mid-upload).
    Unreadable,
}

impl Default for Body<'_> {
    fn default() -> Self {
        Body::Read(&[])
    }
}

impl<'a> Body<'a> {
    /// The bytes, when they were read and are within [`MAX_BODY_BYTES`]; else why not.
    fn within_limit(self) -> Result<&'a [u8], Rejection> {
        match self {
            Body::Read(bytes) if bytes.len() <= MAX_BODY_BYTES => Ok(bytes),
            Body::Read(_) | Body::TooLarge => Err(Rejection::TooLarge),
            Body::Unreadable => Err(Rejection::UnreadableBody),
        }
    }
}

/// What the runtime lends one webhook: the time, the isolate's memory, KV, the worker's
/// vars (for conversations) and an HTTP client.
pub struct Runtime<'a, S> {
    /// Unix seconds, passed in because the WASM runtime has no system clock.
    pub now: u64,
    /// The `CONVERSATIONS` KV namespace, when bound.
    pub kv: Option<&'a S>,
    /// The isolate's memory of the records it answered last.
    pub memory: Option<&'a Memory>,
    /// Vars and secrets by name.
    pub vars: Vars<'a>,
    /// Sends the requests conversations make.
    pub http: Rc<dyn HttpClient>,
    /// The `CONVERSATION_OBJECTS` Durable Object namespace, when bound (never inside an
    /// object itself).
    pub objects: Option<&'a dyn Objects>,
}

impl<'a, S> Runtime<'a, S> {
    /// A runtime at `now` with `vars` and `http`, and nothing bound: no KV, no isolate
    /// memory, no objects. Set the fields that differ with `..Runtime::new(…)`.
    pub fn new(now: u64, vars: Vars<'a>, http: Rc<dyn HttpClient>) -> Self {
        Runtime {
            now,
            kv: None,
            memory: None,
            vars,
            http,
            objects: None,
        }
    }
}

/// Handles one request. `setup` is what the isolate built at start-up (or why it could not).
pub async fn handle<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Handled {
    let (_, path, _) = split_request_url(req.url);
    let answer = match path {
        "/conversations" => start_conversation(setup, req, rt).await,
        #[cfg(all(feature = "state-api", any(feature = "kv", feature = "objects")))]
        "/conversations/state" => state::state_api(setup, req, rt).await,
        _ => webhook(setup, req, rt).await,
    };
    answer.unwrap_or_else(|rejection| Handled::only(HttpResponse::rejected(rejection)))
}

/// The path, step by step.
async fn webhook<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let (origin, path, query) = route(req)?;
    if req.method == "GET" && query.is_empty() {
        return Ok(info(setup, origin));
    }
    let setup = setup.map_err(|e| Rejection::Misconfigured(e.clone()))?;
    let config = &setup.config;
    // Status callbacks of the worker's own sends always come by POST.
    let status_path = path.starts_with("/sms/status");
    let method = if status_path {
        WebhookMethod::Post
    } else {
        config.webhook_method
    };
    let params = read_params(req, query, method)?;
    authenticate(config, req, &params)?;
    let message = InboundMessage::from_params(&params)?;
    let from = Some(mask_number(&message.from));
    let origin = config.webhook_base_url.as_deref().unwrap_or(origin);

    let intent = Intent::of(&message, config);
    if intent == Intent::StatusCallback {
        #[cfg_attr(not(feature = "objects"), allow(unused_mut))]
        let mut log = LogEvent::new(Outcome::StatusCallback, from);
        #[cfg(feature = "objects")]
        if let Some(objects) = rt.objects {
            log.object_error = delivery_status(objects, config, &message, query, rt.now)
                .await
                .err();
        }
        return Ok(Handled::twiml(twiml::render(&Reply::none()), None, log));
    }
    // With the Durable Objects binding, the pair's object answers; when it cannot, the
    // worker answers from the cookie. Without the feature none of it is in the wasm.
    #[cfg(feature = "objects")]
    let object_error = match rt.objects {
        Some(objects) => {
            let call = WebhookCall {
                message: message.clone(),
                cookie: req.cookie.map(str::to_string),
                now: rt.now,
                origin: origin.to_string(),
            };
            match through_object(objects, config, call).await {
                Ok(answer) => return Ok(answer.into_handled(from)),
                Err(e) => Some(e),
            }
        }
        None => None,
    };
    #[cfg(not(feature = "objects"))]
    let (object_error, _) = (None, origin);
    let (mut handled, done) = respond(setup, &message, intent, req.cookie, rt, None).await;
    handled.response.log.follow_up_ignored = rt.objects.is_none() && done.follow_up.is_some();
    handled.response.log.object_error = object_error;
    Ok(handled)
}

/// Hands the verified webhook to the pair's Durable Object: one message at a time, against
/// the newest record.
#[cfg(feature = "objects")]
async fn through_object(
    objects: &dyn Objects,
    config: &Config,
    call: WebhookCall,
) -> Result<ObjectAnswer, ObjectError> {
    let name = config.storage.keys.object_name(&Pair::of(&call.message));
    objects.webhook(&name, &call).await
}

/// Hands a status callback to the object of the pair it concerns: a message we sent goes From
/// our number To the person, whose own messages come the other way.
#[cfg(feature = "objects")]
async fn delivery_status(
    objects: &dyn Objects,
    config: &Config,
    message: &InboundMessage,
    query: &str,
    now: u64,
) -> Result<(), ObjectError> {
    let pair = Pair {
        account_sid: message.account(),
        to: &message.from,
        from: &message.to,
    };
    let send = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "o")
        .map(|(_, v)| v.into_owned());
    let call = StatusCall {
        message_sid: message.sid().to_string(),
        status: message.message_status.clone().unwrap_or_default(),
        error_code: message.error_code.as_deref().and_then(|c| c.parse().ok()),
        send,
        now,
    };
    let name = config.storage.keys.object_name(&pair);
    objects.status(&name, &call).await
}

/// The webhook's answer once it is known to be Twilio's: load the pair's record, converse,
/// save. `object` is the record the pair's Durable Object keeps, when it is the object
/// answering.
pub(crate) async fn respond<S: Store>(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    cookie: Option<&str>,
    rt: &Runtime<'_, S>,
    object: Option<Option<Record>>,
) -> (Handled, Done) {
    let config = &setup.config;
    let mut storage = Storage::new(&config.storage, Pair::of(message), rt.now, rt.kv, rt.memory);
    if let Some(stored) = object {
        storage = storage.in_object(stored);
    }
    #[cfg(all(feature = "state-api", any(feature = "kv", feature = "objects")))]
    if config.admin.is_some() && rt.objects.is_none() {
        storage = storage.reading_kv_always();
    }
    let mut loaded = storage.load(cookie).await;
    let mut ctx = Context::new(rt.vars, Rc::clone(&rt.http), rt.now)
        .for_message(message.account(), message.sid());
    if config.dev_record_fetches {
        ctx = ctx.recording();
    }
    let mut done = converse(setup, message, intent, &mut loaded, &ctx).await;
    let saved = storage.save(&done.record, done.change, &loaded);

    let log = LogEvent {
        source: loaded.source,
        count: Some(done.record.count),
        kv_error: loaded.kv_error,
        seal_error: saved.error,
        state_error: done.state_error.take(),
        segments: segments::reply_segments(&done.reply),
        ..LogEvent::new(done.outcome.clone(), Some(mask_number(&message.from)))
    };
    let mut handled = Handled::twiml(twiml::render(&done.reply), saved.set_cookie, log);
    handled.writes = saved.writes;
    handled.after_reply = ctx.take_after_reply();
    handled.response.dev_fetches = ctx.take_recorded();
    let follow_up = (done.change == Change::Counted)
        .then(|| done.reply.follow_up())
        .flatten();
    (
        handled,
        Done {
            record: done.record,
            change: done.change,
            follow_up,
        },
    )
}

/// What the webhook left, for the pair's Durable Object to keep.
#[cfg_attr(not(feature = "objects"), allow(dead_code))]
pub(crate) struct Done {
    /// The record after the message.
    pub record: Record,
    /// What kind of change it was.
    pub change: Change,
    /// Seconds after which the conversation asked to follow up.
    pub follow_up: Option<u64>,
}

/// Without the `objects` feature the route does not exist, and none of its code is in the
/// wasm.
#[cfg(not(feature = "objects"))]
async fn start_conversation<S: Store>(
    _: Result<&Setup, &ConfigError>,
    _: &HttpRequest<'_>,
    _: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    Err(Rejection::NotFound)
}

/// `POST /conversations`: the worker starts a conversation. Enabled by `OUTBOUND_API_KEY`
/// (a 404 without it, so the route does not exist for anyone else) and run by the pair's
/// Durable Object, which sends the opening message and keeps the state for the reply.
#[cfg(feature = "objects")]
async fn start_conversation<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Result<Handled, Rejection> {
    let setup = setup.map_err(|e| Rejection::Misconfigured(e.clone()))?;
    let outbound = &setup.config.outbound;
    authorize_start(outbound.start_key.as_deref(), req)?;
    let account_sid = outbound.account_sid.clone().ok_or_else(|| {
        Rejection::Misconfigured(ConfigError::new(
            "TWILIO_ACCOUNT_SID",
            "is not set: POST /conversations sends from this account",
        ))
    })?;
    let (json, to, from) = read_start(req)?;
    let idempotency_key = idempotency_key(req)?;
    let objects = rt.objects.ok_or(Rejection::ObjectsUnbound)?;
    // The person's reply will come To our number From theirs.
    let pair = Pair {
        account_sid: &account_sid,
        to: &from,
        from: &to,
    };
    let name = setup.config.storage.keys.object_name(&pair);
    let log_from = Some(mask_number(&to));
    let (origin, _, _) = split_request_url(req.url);
    let call = StartCall {
        to,
        from,
        account_sid,
        json: json.to_string(),
        now: rt.now,
        idempotency_key,
        origin: setup
            .config
            .webhook_base_url
            .as_deref()
            .unwrap_or(origin)
            .to_string(),
    };
    let (status, body) = match objects.start(&name, &call).await {
        Ok(answer) => answer,
        // The object may still be sending: never a failure for what may be delivered.
        Err(ObjectError::TimedOut) => (202, start_pending(&call)),
        Err(e) => return Err(Rejection::ObjectUnreachable(e)),
    };
    let log = LogEvent::new(Outcome::Start, log_from);
    Ok(Handled::only(HttpResponse::json(status, body, log)))
}

/// The answer to a start whose object did not answer in time.
#[cfg(feature = "objects")]
fn start_pending(call: &StartCall) -> String {
    serde_json::json!({
        "status": "pending",
        "idempotency_key": call.idempotency_key,
        "to": call.to,
        "from": call.from,
        "next": "The pair's object is still at work. Repeat this request with the same Idempotency-Key to learn the result: it never sends twice.",
    })
    .to_string()
}

/// The start's `Idempotency-Key` (printable ASCII, at most 255 bytes), or a new random one
/// the answer names, so even a caller who sent none can repeat the start safely.
#[cfg(feature = "objects")]
fn idempotency_key(req: &HttpRequest<'_>) -> Result<String, Rejection> {
    match req.idempotency_key.map(str::trim) {
        Some(key) if !key.is_empty() => {
            if key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Rejection::BadStart(
                    "Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
                ));
            }
            Ok(key.to_string())
        }
        _ => Ok(crate::seal::new_spill_key()
            .map(|k| format!("auto-{}", k.trim_start_matches("spill:")))
            .unwrap_or_default()),
    }
}

/// `POST /conversations` exists only with a `key` (`OUTBOUND_API_KEY`), and takes it as a
/// bearer token.
#[cfg(feature = "objects")]
fn authorize_start(key: Option<&str>, req: &HttpRequest<'_>) -> Result<(), Rejection> {
    let key = key.ok_or(Rejection::NotFound)?;
    if req.method != "POST" {
        return Err(Rejection::StartMethod);
    }
    bearer_is(req, key)
        .then_some(())
        .ok_or(Rejection::Unauthorized)
}

/// True when the request's `Authorization: Bearer <token>` is `key`, compared in constant
/// time: how much of the key matched must not show in the timing.
#[cfg(any(feature = "objects", all(feature = "state-api", feature = "kv")))]
pub(crate) fn bearer_is(req: &HttpRequest<'_>, key: &str) -> bool {
    let bearer = req
        .authorization
        .and_then(|a| a.trim().strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(subtle::ConstantTimeEq::ct_eq(
        bearer.trim().as_bytes(),
        key.as_bytes(),
    ))
}

/// A start request's JSON object, and its `to` and `from` numbers.
#[cfg(feature = "objects")]
fn read_start<'r>(req: &HttpRequest<'r>) -> Result<(&'r str, String, String), Rejection> {
    let json = std::str::from_utf8(req.body.within_limit()?)
        .map_err(|_| Rejection::BadStart("the body is not UTF-8".into()))?;
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| Rejection::BadStart(format!("the body must be a JSON object ({e})")))?;
    let number = |name: &str| -> Result<String, Rejection> {
        match fields.get(name).and_then(|v| v.as_str()) {
            Some(n) if is_address(n) => Ok(n.to_string()),
            _ => Err(Rejection::BadStart(format!(
                "\"{name}\" must be an E.164 number like \"+14155550100\" (or whatsapp:+1…)"
            ))),
        }
    };
    let (to, from) = (number("to")?, number("from")?);
    if to.starts_with("whatsapp:") != from.starts_with("whatsapp:") {
        return Err(Rejection::BadStart(
            "\"to\" and \"from\" must be on the same channel: both whatsapp:+… or both +…".into(),
        ));
    }
    Ok((json, to, from))
}

/// E.164 (`+` and 7 to 15 digits, not starting with 0), optionally behind `whatsapp:`.
#[cfg(any(feature = "objects", all(feature = "state-api", feature = "kv")))]
pub(crate) fn is_address(address: &str) -> bool {
    let number = address.strip_prefix("whatsapp:").unwrap_or(address);
    number.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// The webhook lives at `/sms` (and `/`), the status callbacks of the worker's own sends at
/// `/sms/status`; Twilio calls them with GET or POST. Returns the origin (for the info page
/// and status callback URLs), the path and the query.
fn route<'r>(req: &HttpRequest<'r>) -> Result<(&'r str, &'r str, &'r str), Rejection> {
    let (origin, path, query) = split_request_url(req.url);
    if !matches!(path, "/" | "/sms" | "/sms/" | "/sms/status") {
        return Err(Rejection::NotFound);
    }
    if !matches!(req.method, "GET" | "POST") {
        return Err(Rejection::MethodNotAllowed);
    }
    Ok((origin, path, query))
}

/// The webhook's parameters: the form body of a POST, the query of a GET, by the one
/// method `WEBHOOK_METHOD` allows.
fn read_params<'a>(
    req: &HttpRequest<'a>,
    query: &'a str,
    allowed: WebhookMethod,
) -> Result<Params<'a>, Rejection> {
    if !allowed.allows(req.method) {
        return Err(Rejection::WrongWebhookMethod(allowed));
    }
    let encoded: &[u8] = if req.method == "POST" {
        let form = req
            .content_type
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|ct| {
                ct.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(Rejection::UnsupportedMediaType);
        }
        req.body.within_limit()?
    } else {
        query.as_bytes()
    };
    Ok(params::parse_params(encoded)?)
}

/// Nothing below runs for a request that is not Twilio's: `X-Twilio-Signature` must match
/// one of the auth tokens.
fn authenticate(
    config: &Config,
    req: &HttpRequest<'_>,
    params: &Params<'_>,
) -> Result<(), Rejection> {
    if let Some(problem) = config.missing_token_error() {
        return Err(Rejection::Misconfigured(problem));
    }
    let Verification::Signed(verifiers) = &config.verification else {
        // ALLOW_UNSIGNED_WEBHOOKS=true and no token.
        return Ok(());
    };
    let signature = req.signature.ok_or(Rejection::MissingSignature)?;
    // GET webhooks carry their parameters in the URL, which is signed as a whole.
    let params = if req.method == "POST" {
        signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    } else {
        String::new()
    };
    let urls = signature::candidate_urls(req.url, config.webhook_base_url.as_deref());
    let valid = verifiers
        .iter()
        .any(|v| v.is_valid(urls.iter().map(String::as_str), &params, signature));
    valid.then_some(()).ok_or(Rejection::BadSignature)
}

/// What the person asked for, before any state is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    /// A message for the conversation.
    Message,
    /// The reset keyword: forget the conversation.
    Reset,
    /// An opt-out keyword: the pair is opted out; Twilio answers it, we stay silent.
    OptOut,
    /// An opt-in keyword: the opt-out, if any, is cleared.
    OptIn,
    /// A help keyword, with `HELP_REPLY` set.
    Help,
    /// A delivery report pointed at this URL: not a message.
    StatusCallback,
}

impl Intent {
    pub(crate) fn of(message: &InboundMessage, config: &Config) -> Intent {
        let word = message.body.trim();
        let is = |keywords: &[&str]| keywords.iter().any(|k| k.eq_ignore_ascii_case(word));
        // With Advanced Opt-Out, Twilio names the keyword's kind whatever its wording.
        let kind = message.opt_out_type.as_deref().unwrap_or("");
        if message.is_status_callback() {
            Intent::StatusCallback
        } else if word.eq_ignore_ascii_case(&config.reset_keyword) {
            Intent::Reset
        } else if is(STOP_KEYWORDS) || kind.eq_ignore_ascii_case("STOP") {
            Intent::OptOut
        } else if is(START_KEYWORDS) || kind.eq_ignore_ascii_case("START") {
            Intent::OptIn
        } else if config.help_reply.is_some()
            && (is(HELP_KEYWORDS) || kind.eq_ignore_ascii_case("HELP"))
        {
            Intent::Help
        } else {
            Intent::Message
        }
    }
}

/// The record after this message, the reply, and what kind of change it was.
struct Conversed {
    outcome: Outcome,
    record: Record,
    reply: Reply,
    change: Change,
    /// The conversation's state did not serialise: the record keeps the one from before.
    state_error: Option<StateError>,
}

/// Answers the message. A MessageSid already seen (a retry, or a replay of a captured
/// webhook) gets the answer it got the first time and changes nothing, whatever it asked.
/// The record is taken out of `loaded` (a counted message changes it in place: no copy);
/// the rest of `loaded` stays for saving.
async fn converse(
    setup: &Setup,
    message: &InboundMessage,
    intent: Intent,
    loaded: &mut Loaded,
    ctx: &Context<'_>,
) -> Conversed {
    let sid = message.sid();
    if let Some(retry) = Conversed::retry(loaded, sid) {
        return retry;
    }
    let mut record = std::mem::take(&mut loaded.record);
    if intent == Intent::Reset {
        return Conversed::reset(&record, sid, ctx.now());
    }
    record.count_message(sid, ctx.now());
    let intent = match intent {
        Intent::Message if record.opted_out() && message.body.trim().eq_ignore_ascii_case(YES) => {
            Intent::OptIn
        }
        other => other,
    };
    let (outcome, ran) = match intent {
        Intent::OptOut => {
            record.standing.opted_out = Some(ctx.now());
            (Outcome::OptOut, Ran::silent())
        }
        Intent::OptIn => {
            record.standing.opted_out = None;
            let reply = setup.config.opt_in_reply.as_deref().map(Reply::text);
            (Outcome::OptIn, Ran::saying(reply.unwrap_or_default()))
        }
        Intent::Help => {
            let reply = setup.config.help_reply.as_deref().map(Reply::text);
            (Outcome::Help, Ran::saying(reply.unwrap_or_default()))
        }
        // Nothing of an opted-out person's reaches the conversation until they opt in.
        _ if record.opted_out() => (Outcome::OptedOut, Ran::silent()),
        _ => (Outcome::Reply, run(setup, message, &mut record, ctx).await),
    };
    let turn = Turn {
        at: ctx.now(),
        message_sid: sid.to_string(),
        inbound: message.body.clone(),
        reply: ran.answer.clone(),
    };
    record.answered(turn, setup.config.storage.history);
    Conversed {
        outcome,
        record,
        reply: ran.answer,
        change: Change::Counted,
        state_error: ran.state_error,
    }
}

/// Runs the conversation over the message just counted in `record`. Its state is lent out
/// while the rest of the record stays read-only. With `SMART_ENCODING` the reply loses its
/// UCS-2 look-alikes here, before it is rendered or kept for a retry.
async fn run(
    setup: &Setup,
    message: &InboundMessage,
    record: &mut Record,
    ctx: &Context<'_>,
) -> Ran<Reply> {
    let mut state = std::mem::take(&mut record.state);
    let mut ran = setup
        .conversation
        .converse(message, record.view(), &mut state, ctx)
        .await;
    record.state = state;
    ran.answer = segments::as_configured(ran.answer, setup.config.smart_encoding);
    ran
}

impl Conversed {
    /// The answer to a message already seen in the loaded record or the isolate's memory,
    /// when it is one: the same answer, nothing changed.
    fn retry(loaded: &Loaded, sid: &str) -> Option<Conversed> {
        let seen = [Some(&loaded.record), loaded.remembered.as_deref()]
            .into_iter()
            .flatten()
            .find(|r| r.has_seen(sid))?;
        Some(Conversed {
            outcome: Outcome::Retry,
            reply: seen.answer_to(sid).cloned().unwrap_or_default(),
            record: seen.clone(),
            change: Change::Unchanged,
            state_error: None,
        })
    }

    /// The reset keyword: the conversation forgotten, but not the messages it saw nor the
    /// pair's standing. An opted-out person is not answered.
    fn reset(record: &Record, sid: &str, now: u64) -> Conversed {
        let reply = if record.opted_out() {
            Reply::none()
        } else {
            Reply::text(RESET_REPLY)
        };
        Conversed {
            outcome: Outcome::Reset,
            record: record.reset(sid, reply.clone(), now),
            reply,
            change: Change::Reset,
            state_error: None,
        }
    }
}

/// A browser opening the worker's address: what it is and where to point Twilio.
fn info(setup: Result<&Setup, &ConfigError>, origin: &str) -> Handled {
    let (public, problem) = match setup {
        Ok(s) => (
            s.config.webhook_base_url.as_deref(),
            s.config.missing_token_error(),
        ),
        Err(e) => (None, Some(e.clone())),
    };
    let mut text = format!(
        "SMS conversation worker: a Twilio Messaging webhook that keeps each conversation in a signed cookie.\n\n\
         Point your Twilio number's \"A message comes in\" webhook (HTTP POST) at:\n  {}/sms\n",
        public.unwrap_or(origin)
    );
    if let Some(problem) = problem {
        text.push_str(&format!("\nThis worker is misconfigured: {problem}\n"));
    }
    Handled::only(HttpResponse::text(
        200,
        text,
        LogEvent::new(Outcome::Info, None),
    ))
}

/// Splits a request URL into origin (`https://host`), path and query (without `?`).
fn split_request_url(url: &str) -> (&str, &str, &str) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i);
    let (origin, rest) = url.split_at(path_start);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (origin, if path.is_empty() { "/" } else { path }, query)
}

#[cfg(test)]
mod tests;
