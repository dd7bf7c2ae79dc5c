//! The routes: Twilio's webhook (`/sms`, `/`, `/sms/status`), `POST /conversations` and the
//! state API, over plain request/response values so that all of it is tested natively; the
//! Workers adapter only copies a request in and a response out. Every way a request can fail
//! is a [`crate::response::Rejection`], and its `status` is the one place that
//! maps them to HTTP statuses.
//!
//! - `request.rs`: the parts of HTTP the routes read;
//! - `webhook.rs`: route → authenticate → intent, then the pair's object or the pipeline
//!   (`crate::pipeline`: load → converse → save → render);
//! - `start.rs`: `POST /conversations`;
//! - `state.rs`: `/conversations/state`.

use crate::config::Config;
use crate::conversation::apart;
use crate::response::{HttpResponse, LogEvent, Outcome, Rejection};
use crate::storage::Store;
use crate::vars::ConfigError;

mod request;
mod start;
mod webhook;

use start::start_conversation;
use webhook::webhook;

pub use crate::pipeline::{LateRace, Runtime, Setup, RESET_REPLY};
pub use crate::response::{Handled, MAX_BODY_BYTES};
pub use request::{Body, HttpRequest};

#[cfg(state_api)]
pub mod state;

/// Handles one request. `setup` is what the isolate built at start-up (or why it could not).
pub async fn handle<S: Store>(
    setup: Result<&Setup, &ConfigError>,
    req: &HttpRequest<'_>,
    rt: &Runtime<'_, S>,
) -> Handled {
    let (_, path, _) = split_request_url(req.url);
    let answer = match path {
        "/conversations" => apart(start_conversation(setup, req, rt)).await,
        #[cfg(state_api)]
        "/conversations/state" => apart(state::state_api(setup, req, rt)).await,
        _ => webhook(setup, req, rt).await,
    };
    answer.unwrap_or_else(|rejection| Handled::only(HttpResponse::rejected(rejection)))
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

/// The request failed because the isolate could not build its setup: a 500 naming why.
fn misconfigured(e: &ConfigError) -> Rejection {
    Rejection::Misconfigured(e.clone())
}

/// The misconfiguration of a route that needs `TWILIO_ACCOUNT_SID`: `why` says what for.
#[cfg(any(feature = "objects", state_api))]
fn account_unset(why: &'static str) -> Rejection {
    Rejection::Misconfigured(ConfigError::new("TWILIO_ACCOUNT_SID", why))
}

/// The worker's public origin: `WEBHOOK_BASE_URL`'s when set (behind a proxy or a custom
/// domain), else the request's.
fn public_origin<'a>(config: &'a Config, origin: &'a str) -> &'a str {
    config.webhook_base_url.as_deref().unwrap_or(origin)
}

/// Splits a request URL into origin (`https://host`), path and query (without `?`).
fn split_request_url(url: &str) -> (&str, &str, &str) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (origin, rest) = url.split_at(path_start(url));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (origin, if path.is_empty() { "/" } else { path }, query)
}

/// Where the URL's path (or its query, when there is no path) starts: after the scheme and
/// the host.
fn path_start(url: &str) -> usize {
    let after_scheme = crate::twilio::signature::scheme_end(url).map_or(0, |i| i + 3);
    url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| after_scheme + i)
}

#[cfg(test)]
mod tests;
