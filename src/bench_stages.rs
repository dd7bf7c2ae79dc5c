//! Bench builds only (feature `bench-stages`, which no shipped worker turns on): each stage of
//! a webhook's path, run again `n` times over the very request the worker was sent, so a bench
//! can time each stage on its own: natively with criterion (benches/webhook.rs), and in
//! workerd (bench/stages.sh), where time moves only across I/O, so a stage's cost is the
//! difference in the workerd process's CPU per request between a build told to run it `n`
//! more times and one told to run nothing more, divided by `n`.
//!
//! Stages that only the whole path can show (choosing the record, the kept reply) are left to
//! `respond` and `handle`, which run the pipeline and the whole core: what they cost beyond
//! the stages inside them is theirs.

use std::hint::black_box;

use crate::app::{self, Body, HttpRequest};
use crate::config::Verification;
use crate::conversation::{InboundMessage, Reply};
use crate::pipeline::{respond, Intent, Runtime, Setup};
use crate::record::{Pair, Record};
use crate::response::{LogEvent, Outcome};
use crate::seal::{self, Opened, Purpose};
use crate::storage::Store;
use crate::twilio::params::{parse_params, Params};
use crate::twilio::{segments, signature, twiml};

/// The stages the core runs, in the path's order.
pub const STAGES: &[&str] = &[
    "parse",
    "signature",
    "message",
    "open",
    "respond",
    "segments",
    "seal",
    "twiml",
    "log",
    "handle",
];

/// Runs `stage` `n` times over `req` (a signed webhook with the pair's cookie), after the
/// worker answered it; returns a number made from the results, so that none is optimised
/// away. What the stages start from (the parsed form, the message, the opened record, the
/// log event) is prepared once first, whatever the stage and `n` (the stage `prepare` does
/// only that: the baseline the others are compared with). An unknown stage, or a request
/// that is not a webhook with a cookie that opens, runs nothing more.
pub async fn repeat<S: Store>(
    stage: &str,
    n: u32,
    setup: &Setup,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> usize {
    let body = body(req);
    let Some(fixture) = Fixture::new(setup, req, body, rt.now) else {
        return 0;
    };
    let mut sum = 0;
    for _ in 0..n {
        sum += match stage {
            "respond" => fixture.respond(setup, req, rt).await,
            "handle" => app::handle(Ok(setup), black_box(req), rt)
                .await
                .response
                .body
                .len(),
            _ => fixture.run(stage, setup, black_box(req), body),
        };
    }
    sum
}

/// What the stages start from, prepared once per request.
struct Fixture<'a> {
    params: Params<'a>,
    message: InboundMessage,
    record: Record,
    event: LogEvent,
    now: u64,
}

impl<'a> Fixture<'a> {
    fn new(setup: &Setup, req: &HttpRequest<'_>, body: &'a [u8], now: u64) -> Option<Self> {
        let params = parse_params(body).ok()?;
        let message = InboundMessage::from_params(&params).ok()?;
        let record = open(setup, req, &Pair::of(&message), now)?;
        let event = log_event(&record.last_reply);
        Some(Fixture {
            params,
            message,
            record,
            event,
            now,
        })
    }

    /// One run of a stage that needs no runtime.
    fn run(&self, stage: &str, setup: &Setup, req: &HttpRequest<'_>, body: &[u8]) -> usize {
        let pair = Pair::of(&self.message);
        let reply = black_box(&self.record.last_reply);
        match stage {
            "parse" => parse_params(body).map_or(0, |p| p.len()),
            "signature" => usize::from(verify(setup, req, black_box(&self.params))),
            "message" => {
                InboundMessage::from_params(black_box(&self.params)).map_or(0, |m| m.body.len())
            }
            "open" => open(setup, req, &pair, self.now).map_or(0, |r| r.turns.len() + 1),
            "segments" => segments::reply_segments(reply).len(),
            "seal" => seal_cookie(setup, black_box(&self.record), &pair, self.now),
            "twiml" => twiml::render(reply).len(),
            "log" => black_box(&self.event).to_json(200, 0).len(),
            _ => 0,
        }
    }

    /// One run of the pipeline (load → converse → save → render) for the message.
    async fn respond<S: Store>(
        &self,
        setup: &Setup,
        req: &HttpRequest<'_>,
        rt: &Runtime<'_, S>,
    ) -> usize {
        let message = black_box(&self.message);
        let intent = Intent::of(message, &setup.config);
        let (handled, _) = respond(setup, message, intent, req.cookie, rt, None).await;
        handled.response.body.len()
    }
}

/// `X-Twilio-Signature` checked as the webhook checks it (after the form is parsed).
pub fn verify(setup: &Setup, req: &HttpRequest<'_>, params: &Params<'_>) -> bool {
    let Verification::Signed(verifiers) = &setup.config.verification else {
        return false;
    };
    let data = signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    let urls = signature::candidate_urls(req.url, setup.config.webhook_base_url.as_deref());
    let sig = req.signature.unwrap_or_default();
    verifiers
        .iter()
        .any(|v| v.is_valid(urls.iter().map(String::as_str), &data, sig))
}

/// The pair's record out of the request's `Cookie` header.
pub fn open(setup: &Setup, req: &HttpRequest<'_>, pair: &Pair<'_>, now: u64) -> Option<Record> {
    let keys = &setup.config.storage.keys;
    match keys.open_cookie_header(req.cookie?, pair, now)? {
        Opened::Record(record) => Some(record),
        _ => None,
    }
}

/// The record sealed into its `Set-Cookie`, as saving it does.
pub fn seal_cookie(setup: &Setup, record: &Record, pair: &Pair<'_>, now: u64) -> usize {
    let s = &setup.config.storage;
    let expires_at = now + s.conversation_ttl_seconds;
    s.keys
        .seal(
            black_box(record),
            Purpose::Cookie,
            pair,
            expires_at,
            s.encrypt,
        )
        .map_or(0, |sealed| {
            seal::set_cookie(&sealed, s.cookie_max_age()).len()
        })
}

/// The webhook's log event for a counted reply like `reply`, as rendering builds it.
fn log_event(reply: &Reply) -> LogEvent {
    LogEvent {
        count: Some(10),
        segments: segments::reply_segments(reply),
        ..LogEvent::new(
            Outcome::Reply,
            Some(crate::mask::mask_number("+15005550006")),
        )
    }
}

/// The request's body, empty when it was not read.
fn body<'a>(req: &HttpRequest<'a>) -> &'a [u8] {
    match req.body {
        Body::Read(bytes) => bytes,
        _ => &[],
    }
}
