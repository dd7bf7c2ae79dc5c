//! One webhook, top to bottom: route → parse → verify → open state → converse → seal → render.
//!
//! Plain Rust over plain request/response values, so the whole path is tested natively;
//! `lib.rs` only copies a Workers request in and a response out. Every way a request can
//! fail is a [`Rejection`], and [`Rejection::status`] is the one place that maps them to
//! HTTP statuses.

use std::fmt;

use serde::Serialize;

use crate::config::{Config, ConfigError, Verification};
use crate::conversation::{self, Reply};
use crate::recent::RecentStates;
use crate::session::{self, Pointer, Sealed, SessionKeys, MAX_SET_COOKIE_BYTES};
use crate::signature;
use crate::state::{ConversationState, Pair, Turn};
use crate::twiml;
use crate::webhook::{self, InboundMessage, ParamsError};

/// Twilio's largest webhook is a few KiB; anything far beyond is not Twilio.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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
    /// The raw body (empty for GET).
    pub body: &'a [u8],
}

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: &'static str,
    /// The body: TwiML, or a short plain text explaining an error.
    pub body: String,
    /// `Set-Cookie` header, when the conversation goes on.
    pub set_cookie: Option<String>,
    /// `Allow` header, for a 405.
    pub allow: Option<&'static str>,
    /// What to log about this request: never a body, a secret or a whole phone number.
    pub log: LogLine,
}

/// Where the conversation state of a webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSource {
    /// No usable cookie: the conversation starts here.
    New,
    /// The pair's cookie.
    Cookie,
    /// The `CONVERSATIONS` KV namespace (no cookie, or a pointer to a spilled state).
    Kv,
    /// The isolate's memory: the cookie was older than the state answered last.
    Memory,
}

/// The facts of one request worth a log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLine {
    /// `reply`, `retry`, `reset`, `opt_out`, `status_callback`, `info`, or the rejection's name.
    pub outcome: &'static str,
    /// Where the state came from, for webhooks that got that far.
    pub source: Option<StateSource>,
    /// The conversation's count after this message.
    pub count: Option<u64>,
    /// The sender, masked.
    pub from: Option<String>,
    /// A KV read that failed, when one did.
    pub kv_error: Option<String>,
}

impl LogLine {
    /// One line of JSON, for `wrangler tail`.
    pub fn to_json(&self, status: u16, elapsed_ms: u64) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            event: &'static str,
            outcome: &'a str,
            status: u16,
            source: Option<&'static str>,
            count: Option<u64>,
            from: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            kv_error: Option<&'a str>,
            ms: u64,
        }
        let line = Line {
            event: "webhook",
            outcome: self.outcome,
            status,
            source: self.source.map(|s| match s {
                StateSource::New => "new",
                StateSource::Cookie => "cookie",
                StateSource::Kv => "kv",
                StateSource::Memory => "memory",
            }),
            count: self.count,
            from: self.from.as_deref(),
            kv_error: self.kv_error.as_deref(),
            ms: elapsed_ms,
        };
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// Why a request gets no TwiML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not `/` or `/sms`.
    NotFound,
    /// Neither GET nor POST.
    MethodNotAllowed,
    /// A POST that is not form-encoded.
    UnsupportedMediaType,
    /// Body over [`MAX_BODY_BYTES`].
    TooLarge,
    /// Parameters that are not a Twilio webhook.
    BadParams(ParamsError),
    /// No `X-Twilio-Signature` header.
    MissingSignature,
    /// A signature that does not match.
    BadSignature,
    /// The worker cannot serve webhooks until its configuration is fixed.
    Misconfigured(ConfigError),
}

impl Rejection {
    /// The HTTP status of each rejection: the single place they are decided.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::NotFound => 404,
            Rejection::MethodNotAllowed => 405,
            Rejection::UnsupportedMediaType => 415,
            Rejection::TooLarge => 413,
            Rejection::BadParams(_) => 400,
            Rejection::MissingSignature | Rejection::BadSignature => 403,
            Rejection::Misconfigured(_) => 500,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::TooLarge => "too_large",
            Rejection::BadParams(_) => "bad_params",
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::Misconfigured(_) => "misconfigured",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotFound => f.write_str("not found: the webhook is at /sms (or /)"),
            Rejection::MethodNotAllowed => f.write_str("method not allowed: use POST or GET"),
            Rejection::UnsupportedMediaType => f.write_str(
                "unsupported Content-Type: Twilio webhooks are application/x-www-form-urlencoded",
            ),
            Rejection::TooLarge => write!(f, "request body too large (limit {MAX_BODY_BYTES} bytes)"),
            Rejection::BadParams(e) => write!(f, "{e}"),
            Rejection::MissingSignature => {
                f.write_str("forbidden: missing X-Twilio-Signature header")
            }
            Rejection::BadSignature => f.write_str(
                "forbidden: X-Twilio-Signature does not match (is TWILIO_AUTH_TOKEN right, and WEBHOOK_BASE_URL set behind a proxy?)",
            ),
            Rejection::Misconfigured(e) => write!(f, "misconfigured: {e}"),
        }
    }
}

impl From<ParamsError> for Rejection {
    fn from(e: ParamsError) -> Self {
        Rejection::BadParams(e)
    }
}

/// A key-value store for conversation states: the `CONVERSATIONS` KV namespace in the
/// worker, a map in tests. Only reads happen while a webhook is answered; writes are
/// returned in [`Outcome::writes`] for the caller to run after the reply.
// Workers run one request per isolate thread, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value under `key`, `None` when absent; `Err` for any fault (network, rate limit,
    /// timeout), with a short description for the log.
    async fn get(&self, key: &str) -> Result<Option<String>, String>;
}

/// Stands in for "no KV binding".
pub struct NoStore;

impl Store for NoStore {
    async fn get(&self, _key: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// A KV change to make once the reply is on its way (`ctx.wait_until` in the worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvWrite {
    /// Store `value` under `key` for `ttl_seconds`.
    Put {
        /// The KV key.
        key: String,
        /// A sealed state.
        value: String,
        /// KV expiration TTL.
        ttl_seconds: u64,
    },
    /// Remove `key`.
    Delete {
        /// The KV key.
        key: String,
    },
}

/// The answer to one request, and what to write to KV after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What to send back now.
    pub response: HttpResponse,
    /// KV writes to make afterwards; empty without a store, and for retries.
    pub writes: Vec<KvWrite>,
}

/// Handles one request. `config` is what the isolate parsed at start-up (or why it could
/// not); `now` is Unix seconds, passed in because the WASM runtime has no system clock;
/// `store` is the `CONVERSATIONS` KV namespace when it is bound.
pub async fn handle<S: Store>(
    config: Result<&Config, &ConfigError>,
    req: &HttpRequest<'_>,
    now: u64,
    store: Option<&S>,
) -> Outcome {
    handle_with(config, req, now, store, None).await
}

/// [`handle`], with the isolate's memory of the states it answered last (see
/// [`crate::recent`]), which catches a stale cookie without a KV read.
pub async fn handle_with<S: Store>(
    config: Result<&Config, &ConfigError>,
    req: &HttpRequest<'_>,
    now: u64,
    store: Option<&S>,
    recent: Option<&RecentStates>,
) -> Outcome {
    let mut log = LogLine::default();
    let mut writes = Vec::new();
    let backing = Backing { store, recent };
    let response = match webhook_reply(config, req, now, backing, &mut log, &mut writes).await {
        Ok(Answer::Info(text)) => {
            log.outcome = "info";
            HttpResponse {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: text,
                set_cookie: None,
                allow: None,
                log,
            }
        }
        Ok(Answer::Twiml { xml, cookie }) => HttpResponse {
            status: 200,
            content_type: twiml::CONTENT_TYPE,
            body: xml,
            set_cookie: cookie,
            allow: None,
            log,
        },
        Err(rejection) => {
            log.outcome = rejection.name();
            writes.clear();
            HttpResponse {
                status: rejection.status(),
                content_type: "text/plain; charset=utf-8",
                body: format!("{rejection}\n"),
                set_cookie: None,
                allow: matches!(rejection, Rejection::MethodNotAllowed).then_some("GET, POST"),
                log,
            }
        }
    };
    Outcome { response, writes }
}

enum Answer {
    Info(String),
    Twiml { xml: String, cookie: Option<String> },
}

/// Twilio's opt-out keywords: Twilio itself confirms the opt-out, and a reply from us
/// would not be delivered anyway (error 21610), so the answer is an empty `<Response/>`.
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

/// The reply to a reset keyword.
pub const RESET_REPLY: &str = "Your conversation has been reset.";

/// Where conversation states live besides the cookie.
#[derive(Clone, Copy)]
struct Backing<'a, S> {
    /// The `CONVERSATIONS` KV namespace, when bound.
    store: Option<&'a S>,
    /// The isolate's memory of the latest states.
    recent: Option<&'a RecentStates>,
}

async fn webhook_reply<S: Store>(
    config: Result<&Config, &ConfigError>,
    req: &HttpRequest<'_>,
    now: u64,
    backing: Backing<'_, S>,
    log: &mut LogLine,
    writes: &mut Vec<KvWrite>,
) -> Result<Answer, Rejection> {
    let Backing { store, recent } = backing;
    // Route.
    let (origin, path, query) = split_request_url(req.url);
    if !matches!(path, "/" | "/sms" | "/sms/") {
        return Err(Rejection::NotFound);
    }
    let is_post = match req.method {
        "POST" => true,
        "GET" => false,
        _ => return Err(Rejection::MethodNotAllowed),
    };
    if !is_post && query.is_empty() {
        let (public, problem) = match config {
            Ok(c) => (c.webhook_base_url.as_deref(), c.missing_token_error()),
            Err(e) => (None, Some(e.clone())),
        };
        return Ok(Answer::Info(info_page(
            public.unwrap_or(origin),
            problem.as_ref(),
        )));
    }
    let config = config.map_err(|e| Rejection::Misconfigured(e.clone()))?;

    // Parse.
    let encoded: &[u8] = if is_post {
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
        if req.body.len() > MAX_BODY_BYTES {
            return Err(Rejection::TooLarge);
        }
        req.body
    } else {
        query.as_bytes()
    };
    let params = webhook::parse_params(encoded)?;

    // Verify: nothing below runs for a request that is not Twilio's.
    verify(config, req, is_post, &params)?;
    let message = InboundMessage::from_params(&params)?;
    log.from = Some(mask_number(&message.from));
    if message.is_status_callback() {
        log.outcome = "status_callback";
        return Ok(Answer::Twiml {
            xml: twiml::render(&Reply::none()),
            cookie: None,
        });
    }

    let pair = Pair {
        account_sid: message.account(),
        to: &message.to,
        from: &message.from,
    };
    let keys: &SessionKeys = &config.session_keys;
    // The pair's KV key (an HMAC), computed once when KV is bound.
    let pair_key = store.map(|_| keys.pair_key(&pair));
    let cookie = req
        .cookie
        .and_then(|header| keys.open_from_header(header, &pair, now));

    // Forget, before reading anything: the person asked for it.
    if message
        .body
        .trim()
        .eq_ignore_ascii_case(&config.reset_keyword)
    {
        log.outcome = "reset";
        if let Some(recent) = recent {
            // Remember the reset as an empty state newer than anything before it, so a
            // pre-reset cookie Twilio might still send back cannot bring the old count back.
            let seq = cookie.as_ref().map_or(0, Sealed::seq);
            let seq = recent
                .newer_than(&pair, seq)
                .map_or(seq, |s| s.seq)
                .saturating_add(1);
            recent.remember(
                &pair,
                &ConversationState {
                    seq,
                    ..Default::default()
                },
            );
        }
        if let Some(key) = pair_key {
            writes.push(KvWrite::Delete { key });
            if let Some(Sealed::Pointer(p)) = &cookie {
                writes.push(KvWrite::Delete { key: p.key.clone() });
            }
        }
        return Ok(Answer::Twiml {
            xml: twiml::render(&Reply::text(RESET_REPLY)),
            cookie: Some(session::set_cookie("", 0)),
        });
    }

    // Open state.
    let kv = store.zip(pair_key.as_deref());
    let (mut state, mut source, spill_key) = open_state(cookie, kv, keys, &pair, now, log).await;
    // A stale cookie (Twilio raced two close messages) must not roll the count back. Without
    // KV, a conversation whose cookie is gone, expired or forged starts afresh, memory or
    // not (it only takes over a reset's empty state, to keep the sequence rising). With KV,
    // memory is one more place to recover from (a KV write can take a while to show).
    let recoverable = source != StateSource::New || store.is_some();
    if let Some(newer) = recent
        .and_then(|r| r.newer_than(&pair, state.seq))
        .filter(|newer| recoverable || newer.count == 0)
    {
        state = newer;
        source = StateSource::Memory;
    }
    log.source = Some(source);

    // Converse.
    let counted = state.record(message.sid(), now);
    let reply: Reply = if counted {
        log.outcome = "reply";
        let reply = if is_opt_out(&message) {
            log.outcome = "opt_out";
            Reply::none()
        } else {
            conversation::reply(&mut state, &message, &config.conversation)
        };
        if config.history.turns > 0 {
            state.push_turn(
                Turn {
                    at: now,
                    message_sid: message.sid().to_string(),
                    inbound: message.body.clone(),
                    reply: reply.messages.clone(),
                },
                config.history,
            );
        }
        reply
    } else {
        // Twilio retried a delivery we already counted: give the first answer again and
        // leave the state exactly as the first delivery left it.
        log.outcome = "retry";
        match state.last_turn_of(message.sid()) {
            Some(turn) => Reply {
                messages: turn.reply.clone(),
            },
            None if is_opt_out(&message) => Reply::none(),
            None => conversation::reply(&mut state.clone(), &message, &config.conversation),
        }
    };
    log.count = Some(state.count);

    // Seal and render. The KV copy is sealed once (before any trimming for the cookie) and
    // serves both the pair's entry and a spill.
    let kv_value = (store.is_some() && counted).then(|| seal_for_kv(config, &state, &pair));
    let spill = store.is_some().then_some(Spill {
        key: spill_key,
        counted,
        value: kv_value.as_deref(),
    });
    let cookie = seal_cookie(config, &mut state, &pair, spill, writes);
    if let (Some(recent), true) = (recent, counted) {
        recent.remember(&pair, &state);
    }
    if let (Some(value), Some(key)) = (kv_value, pair_key) {
        // Written on every counted message, so a lost cookie is recovered exactly.
        writes.push(KvWrite::Put {
            key,
            value,
            ttl_seconds: config.kv_ttl_seconds,
        });
    }
    Ok(Answer::Twiml {
        xml: twiml::render(&reply),
        cookie,
    })
}

/// The pair's state, where it came from, and the spill key its pointer named. The cookie
/// is authoritative when it holds the state; KV is read only when there is no usable
/// cookie, or the cookie points at a spilled state.
async fn open_state<S: Store>(
    cookie: Option<Sealed>,
    kv: Option<(&S, &str)>,
    keys: &SessionKeys,
    pair: &Pair<'_>,
    now: u64,
    log: &mut LogLine,
) -> (ConversationState, StateSource, Option<String>) {
    let pointer = match cookie {
        Some(Sealed::State(state)) => return (state, StateSource::Cookie, None),
        Some(Sealed::Pointer(p)) => Some(p),
        None => None,
    };
    let from_kv = match kv {
        Some((store, pair_key)) => {
            load_from_kv(store, pair_key, keys, pair, pointer.as_ref(), now, log).await
        }
        None => None,
    };
    let spill_key = pointer.as_ref().map(|p| p.key.clone());
    match (from_kv, pointer) {
        (Some(state), _) => (state, StateSource::Kv, spill_key),
        // KV could not give the spilled state back: go on from the pointer's summary,
        // which keeps the count exact though the turns are lost.
        (None, Some(p)) => (p.summary, StateSource::Cookie, spill_key),
        (None, None) => (ConversationState::default(), StateSource::New, None),
    }
}

fn is_opt_out(message: &InboundMessage) -> bool {
    let word = message.body.trim();
    STOP_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
        || message
            .opt_out_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("STOP"))
}

fn seal_for_kv(config: &Config, state: &ConversationState, pair: &Pair<'_>) -> String {
    config.session_keys.seal(
        state,
        pair,
        state.last_seen.saturating_add(config.kv_ttl_seconds),
        config.encrypt_state,
    )
}

/// How a state that outgrows its cookie may be spilled to KV.
struct Spill<'v> {
    /// The spill key of the pointer the request came with: reused, so a long conversation
    /// keeps one spilled entry rather than leaving one behind per message.
    key: Option<String>,
    /// False for a retry, whose state KV already holds under `key`.
    counted: bool,
    /// The state already sealed for KV, when it was.
    value: Option<&'v str>,
}

/// The `Set-Cookie` for `state`, never over [`MAX_SET_COOKIE_BYTES`]: a state that does
/// not fit is spilled to KV behind a pointer cookie when KV is bound (`spill`), or loses
/// its oldest turns until it fits.
fn seal_cookie(
    config: &Config,
    state: &mut ConversationState,
    pair: &Pair<'_>,
    spill: Option<Spill<'_>>,
    writes: &mut Vec<KvWrite>,
) -> Option<String> {
    let keys = &config.session_keys;
    let ttl = config.ttl_seconds;
    let expires_at = state.last_seen.saturating_add(ttl);
    let fits = |sealed: &str| {
        let cookie = session::set_cookie(sealed, ttl);
        (cookie.len() <= MAX_SET_COOKIE_BYTES && !sealed.is_empty()).then_some(cookie)
    };
    let sealed = keys.seal(state, pair, expires_at, config.encrypt_state);
    if let Some(cookie) = fits(&sealed) {
        return Some(cookie);
    }
    if let Some(spill) = spill {
        let write = spill.counted || spill.key.is_none();
        if let Some(key) = spill.key.or_else(session::new_spill_key) {
            let summary = ConversationState {
                memory: Default::default(),
                turns: Vec::new(),
                ..state.clone()
            };
            let pointer = keys.seal_pointer(
                &Pointer {
                    key: key.clone(),
                    summary,
                },
                pair,
                expires_at,
            );
            if let Some(cookie) = fits(&pointer) {
                if write {
                    writes.push(KvWrite::Put {
                        key,
                        value: spill
                            .value
                            .map_or_else(|| seal_for_kv(config, state, pair), str::to_string),
                        ttl_seconds: config.kv_ttl_seconds,
                    });
                }
                return Some(cookie);
            }
        }
    }
    while state.drop_oldest_turn() {
        let sealed = keys.seal(state, pair, expires_at, config.encrypt_state);
        if let Some(cookie) = fits(&sealed) {
            return Some(cookie);
        }
    }
    // Only a conversation's own memory can grow this large; no cookie beats a broken one.
    None
}

/// The pair's state from KV: the spilled state a pointer names and the pair's own entry,
/// whichever is newer (a stale pointer must not roll the count back). Faults are logged
/// and read as "nothing there".
async fn load_from_kv<S: Store>(
    store: &S,
    pair_key: &str,
    keys: &SessionKeys,
    pair: &Pair<'_>,
    pointer: Option<&Pointer>,
    now: u64,
    log: &mut LogLine,
) -> Option<ConversationState> {
    let mut best: Option<ConversationState> = None;
    let spilled = pointer.map(|p| p.key.as_str());
    for key in spilled.into_iter().chain([pair_key]) {
        match store.get(key).await {
            Ok(Some(value)) => {
                if let Ok(Sealed::State(state)) = keys.open(&value, pair, now) {
                    if best.as_ref().is_none_or(|b| state.seq > b.seq) {
                        best = Some(state);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => log.kv_error = Some(e),
        }
    }
    // A pointer newer than anything KV returned means KV has not caught up: the caller
    // falls back to the pointer's summary.
    match (best, pointer) {
        (Some(state), Some(p)) if state.seq < p.summary.seq => None,
        (best, _) => best,
    }
}

fn verify(
    config: &Config,
    req: &HttpRequest<'_>,
    is_post: bool,
    params: &webhook::Params,
) -> Result<(), Rejection> {
    if let Some(problem) = config.missing_token_error() {
        return Err(Rejection::Misconfigured(problem));
    }
    let Verification::Signed(verifier) = &config.verification else {
        // ALLOW_UNSIGNED_WEBHOOKS=true and no token.
        return Ok(());
    };
    let signature = req.signature.ok_or(Rejection::MissingSignature)?;
    // GET webhooks carry their parameters in the URL, which is signed as a whole.
    let params = if is_post {
        signature::params_string(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    } else {
        String::new()
    };
    let urls = signature::candidate_urls(req.url, config.webhook_base_url.as_deref());
    if verifier.is_valid(urls.iter().map(String::as_str), &params, signature) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
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

/// Keeps the country code's first digits and the last two: enough to tell
/// conversations apart in a log, not enough to identify anyone.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
}

fn info_page(origin: &str, problem: Option<&ConfigError>) -> String {
    let mut text = format!(
        "SMS conversation worker: a Twilio Messaging webhook that keeps each conversation in a signed cookie.\n\n\
         Point your Twilio number's \"A message comes in\" webhook (HTTP POST) at:\n  {origin}/sms\n"
    );
    if let Some(problem) = problem {
        text.push_str(&format!("\nThis worker is misconfigured: {problem}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "test-auth-token";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    pub(super) const URL: &str = "https://sms.example.workers.dev/sms";
    pub(super) const NOW: u64 = 1_700_000_000;

    fn run(config: Result<&Config, &ConfigError>, req: &HttpRequest<'_>, now: u64) -> HttpResponse {
        pollster::block_on(handle::<NoStore>(config, req, now, None)).response
    }

    /// A signed configuration with `extra` vars on top (shared with the KV scenarios).
    pub(super) fn config(extra: &[(&str, &str)]) -> Config {
        let mut vars = vec![("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", TOKEN)];
        vars.extend_from_slice(extra);
        Config::from_lookup(|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
    }

    fn form(from: &str, sid: &str, body: &str) -> String {
        serde_urlencoded::to_string([
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("MessageSid", sid),
            ("From", from),
            ("To", "+15005550006"),
            ("Body", body),
            ("NumMedia", "0"),
        ])
        .unwrap()
    }

    pub(super) fn sign(url: &str, body: &str) -> String {
        let params = webhook::parse_params(body.as_bytes()).unwrap();
        let data = signature::params_string(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        signature::expected_signature(TOKEN, url, &data)
    }

    /// A Twilio-like client: signs each message and keeps the pair's cookie.
    struct Phone<'c> {
        config: &'c Config,
        from: String,
        jar: Option<String>,
        sent: u32,
    }

    impl Phone<'_> {
        fn send(&mut self, body: &str) -> HttpResponse {
            self.sent += 1;
            let sid = format!("SM{:032}", self.sent);
            self.deliver(&sid, body)
        }

        fn deliver(&mut self, sid: &str, body: &str) -> HttpResponse {
            let form = form(&self.from, sid, body);
            let sig = sign(URL, &form);
            let cookie = self.jar.clone();
            let resp = run(
                Ok(self.config),
                &HttpRequest {
                    method: "POST",
                    url: URL,
                    content_type: Some("application/x-www-form-urlencoded"),
                    signature: Some(&sig),
                    cookie: cookie.as_deref(),
                    body: form.as_bytes(),
                },
                NOW + u64::from(self.sent),
            );
            if let Some(set) = &resp.set_cookie {
                self.jar = Some(set.split(';').next().unwrap().to_string());
            }
            resp
        }
    }

    fn message_text(resp: &HttpResponse) -> &str {
        let start = resp.body.find("<Message>").expect("a message") + "<Message>".len();
        let end = resp.body.find("</Message>").unwrap();
        &resp.body[start..end]
    }

    #[test]
    fn a_conversation_counts_every_message_of_the_pair() {
        let c = config(&[]);
        let mut phone = Phone {
            config: &c,
            from: "+14155550100".into(),
            jar: None,
            sent: 0,
        };
        let first = phone.send("hi");
        assert_eq!(first.status, 200);
        assert_eq!(first.content_type, "text/xml; charset=utf-8");
        assert_eq!(message_text(&first), "Hello, thanks for the new message.");
        assert_eq!(first.log.source, Some(StateSource::New));
        for n in 2..=10 {
            let resp = phone.send("again");
            assert_eq!(
                message_text(&resp),
                format!("Hello, thanks for message number {n}")
            );
            assert_eq!(resp.log.source, Some(StateSource::Cookie));
        }
    }

    #[test]
    fn a_retried_message_sid_is_not_counted_twice() {
        let c = config(&[]);
        let mut phone = Phone {
            config: &c,
            from: "+14155550100".into(),
            jar: None,
            sent: 0,
        };
        phone.send("one");
        let jar_before_retry = phone.jar.clone();
        let second = phone.send("two");
        // Twilio retries the second message with the cookie it had before it.
        phone.jar = jar_before_retry;
        let retry = phone.deliver(&format!("SM{:032}", 2), "two");
        assert_eq!(message_text(&retry), message_text(&second));
        assert_eq!(retry.log.outcome, "reply");
        // A retry that already carries the new cookie replays the same answer.
        let again = phone.deliver(&format!("SM{:032}", 2), "two");
        assert_eq!(again.log.outcome, "retry");
        assert_eq!(message_text(&again), "Hello, thanks for message number 2");
        let third = phone.send("three");
        assert_eq!(message_text(&third), "Hello, thanks for message number 3");
    }

    #[test]
    fn a_tampered_cookie_starts_afresh_and_a_foreign_one_too() {
        let c = config(&[]);
        let mut alice = Phone {
            config: &c,
            from: "+14155550100".into(),
            jar: None,
            sent: 0,
        };
        let mut bob = Phone {
            config: &c,
            from: "+14155550101".into(),
            jar: None,
            sent: 100,
        };
        for _ in 0..3 {
            alice.send("x");
        }
        // Bob's phone presents Alice's cookie.
        bob.jar = alice.jar.clone();
        let resp = bob.send("hi");
        assert_eq!(message_text(&resp), "Hello, thanks for the new message.");
        // Alice's cookie with one byte changed.
        let mut jar = alice.jar.clone().unwrap();
        let last = jar.pop();
        jar.push(if last == Some('A') { 'Q' } else { 'A' });
        alice.jar = Some(jar);
        let resp = alice.send("x");
        assert_eq!(resp.status, 200);
        assert_eq!(message_text(&resp), "Hello, thanks for the new message.");
    }

    #[test]
    fn forged_and_unsigned_requests_are_refused_before_any_state() {
        let c = config(&[]);
        let body = form("+14155550100", "SM1", "hi");
        let base = HttpRequest {
            method: "POST",
            url: URL,
            content_type: Some("application/x-www-form-urlencoded"),
            signature: None,
            cookie: None,
            body: body.as_bytes(),
        };
        let resp = run(Ok(&c), &base, NOW);
        assert_eq!((resp.status, resp.set_cookie.is_none()), (403, true));
        let wrong = sign("https://other.example/sms", &body);
        let resp = run(
            Ok(&c),
            &HttpRequest {
                signature: Some(&wrong),
                ..base
            },
            NOW,
        );
        assert_eq!(resp.status, 403);
        assert!(resp.set_cookie.is_none());
        let good = sign(URL, &body);
        let resp = run(
            Ok(&c),
            &HttpRequest {
                signature: Some(&good),
                ..base
            },
            NOW,
        );
        assert_eq!(resp.status, 200);
    }

    #[test]
    fn get_webhooks_sign_the_url_and_survive_apostrophe_escaping() {
        let c = config(&[]);
        let signed_url = "https://sms.example.workers.dev/sms?From=%2B14155550100&To=%2B15005550006&Body=It's&MessageSid=SM1";
        let sig = signature::expected_signature(TOKEN, signed_url, "");
        let received = signed_url.replace('\'', "%27");
        let resp = run(
            Ok(&c),
            &HttpRequest {
                method: "GET",
                url: &received,
                signature: Some(&sig),
                ..Default::default()
            },
            NOW,
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(message_text(&resp), "Hello, thanks for the new message.");
    }

    #[test]
    fn each_kind_of_bad_request_gets_its_status() {
        let c = config(&[]);
        let body = form("+14155550100", "SM1", "hi");
        let post = |ct: Option<&'static str>, body: &[u8]| {
            let b = body.to_vec();
            let sig = sign(URL, std::str::from_utf8(&b).unwrap_or(""));
            run(
                Ok(&c),
                &HttpRequest {
                    method: "POST",
                    url: URL,
                    content_type: ct,
                    signature: Some(&sig),
                    cookie: None,
                    body: &b,
                },
                NOW,
            )
        };
        let form_ct = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(post(Some("application/json"), body.as_bytes()).status, 415);
        assert_eq!(post(None, body.as_bytes()).status, 415);
        assert_eq!(post(form_ct, &vec![b'a'; MAX_BODY_BYTES + 1]).status, 413);
        assert_eq!(post(form_ct, b"To=%2B1&Body=x").status, 400);
        assert!(post(form_ct, b"To=%2B1&Body=x")
            .body
            .contains("missing From"));
        assert_eq!(post(form_ct, b"From=\xff").status, 400);
        assert_eq!(post(form_ct, body.as_bytes()).status, 200);

        let req = |method, url| HttpRequest {
            method,
            url,
            ..Default::default()
        };
        let resp = run(Ok(&c), &req("PUT", URL), NOW);
        assert_eq!((resp.status, resp.allow), (405, Some("GET, POST")));
        assert_eq!(
            run(Ok(&c), &req("GET", "https://x.dev/admin"), NOW).status,
            404
        );
        let info = run(Ok(&c), &req("GET", "https://x.dev/"), NOW);
        assert_eq!(info.status, 200);
        assert!(info.body.contains("https://x.dev/sms"));
    }

    #[test]
    fn misconfiguration_answers_500_naming_the_variable() {
        let err = ConfigError::new("SESSION_SECRET", "is not set");
        let body = form("+14155550100", "SM1", "hi");
        let req = HttpRequest {
            method: "POST",
            url: URL,
            content_type: Some("application/x-www-form-urlencoded"),
            body: body.as_bytes(),
            ..Default::default()
        };
        let resp = run(Err(&err), &req, NOW);
        assert_eq!(resp.status, 500);
        assert!(resp.body.starts_with("misconfigured: SESSION_SECRET"));

        let no_token =
            Config::from_lookup(|n| (n == "SESSION_SECRET").then(|| SECRET.to_string())).unwrap();
        let resp = run(Ok(&no_token), &req, NOW);
        assert_eq!(resp.status, 500);
        assert!(resp.body.contains("TWILIO_AUTH_TOKEN"));

        let unsigned = Config::from_lookup(|n| match n {
            "SESSION_SECRET" => Some(SECRET.into()),
            "ALLOW_UNSIGNED_WEBHOOKS" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(run(Ok(&unsigned), &req, NOW).status, 200);
    }

    #[test]
    fn an_expired_cookie_starts_afresh() {
        let c = config(&[("CONVERSATION_TTL_SECONDS", "60")]);
        let mut phone = Phone {
            config: &c,
            from: "+14155550100".into(),
            jar: None,
            sent: 0,
        };
        phone.send("a");
        assert_eq!(
            message_text(&phone.send("b")),
            "Hello, thanks for message number 2"
        );
        phone.sent += 60;
        assert_eq!(
            message_text(&phone.send("c")),
            "Hello, thanks for the new message."
        );
    }

    #[test]
    fn logs_mask_numbers_and_never_carry_bodies() {
        let c = config(&[]);
        let mut phone = Phone {
            config: &c,
            from: "+14155550100".into(),
            jar: None,
            sent: 0,
        };
        let resp = phone.send("my secret message");
        let line = resp.log.to_json(resp.status, 3);
        assert_eq!(
            line,
            r#"{"event":"webhook","outcome":"reply","status":200,"source":"new","count":1,"from":"+14*******00","ms":3}"#
        );
        assert!(!line.contains("secret"));
        assert!(!line.contains("5550100"));
    }

    #[test]
    fn request_urls_split_into_origin_path_and_query() {
        assert_eq!(
            split_request_url("https://a.dev/sms?x=1#f"),
            ("https://a.dev", "/sms", "x=1")
        );
        assert_eq!(
            split_request_url("https://a.dev"),
            ("https://a.dev", "/", "")
        );
        assert_eq!(
            split_request_url("https://a.dev?x"),
            ("https://a.dev", "/", "x")
        );
    }
}

#[cfg(test)]
#[path = "app_kv_tests.rs"]
mod kv_tests;
