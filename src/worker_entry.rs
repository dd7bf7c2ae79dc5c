//! The Workers adapter: reads the request and the configuration, calls [`crate::app::handle`],
//! writes the response and one log line. Nothing here decides anything.

use std::cell::OnceCell;

use worker::{event, Context, Date, Env, Headers, Method, Request, Response, Result};

use crate::app::{self, HttpRequest, MAX_BODY_BYTES};
use crate::config::{Config, ConfigError, VARIABLES};

thread_local! {
    /// Vars and secrets cannot change within an isolate, so the configuration (and the
    /// HKDF key derivation inside it) is done once, on the first request.
    static CONFIG: OnceCell<std::result::Result<Config, ConfigError>> = const { OnceCell::new() };
}

fn load_config(env: &Env) -> std::result::Result<Config, ConfigError> {
    let config = Config::from_lookup(|name| {
        debug_assert!(VARIABLES.contains(&name));
        env.secret(name)
            .ok()
            .map(|s| s.to_string())
            .or_else(|| env.var(name).ok().map(|v| v.to_string()))
    });
    if let Err(e) = &config {
        worker::console_error!(
            "{{\"event\":\"config\",\"error\":\"misconfigured: {}\"}}",
            e.variable
        );
        worker::console_error!("misconfigured: {e}");
    }
    config
}

#[event(start)]
fn start() {
    // Panics abort the isolate; the hook at least puts the message in `wrangler tail`.
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let content_type = header("content-type");
    let signature = header("x-twilio-signature");
    let cookie = header("cookie");
    let url = req.url()?.to_string();
    let method = req.method();

    // Refuse an announced oversized body before reading it.
    let declared = header("content-length").and_then(|l| l.trim().parse::<usize>().ok());
    let body = if method == Method::Post && declared.is_none_or(|l| l <= MAX_BODY_BYTES) {
        req.bytes().await.unwrap_or_default()
    } else if method == Method::Post {
        vec![0; MAX_BODY_BYTES + 1]
    } else {
        Vec::new()
    };

    let now = started / 1000;
    let response = CONFIG.with(|cell| {
        let config = cell.get_or_init(|| load_config(&env));
        app::handle(
            config.as_ref(),
            &HttpRequest {
                method: method.as_ref(),
                url: &url,
                content_type: content_type.as_deref(),
                signature: signature.as_deref(),
                cookie: cookie.as_deref(),
                body: &body,
            },
            now,
        )
    });

    let elapsed = Date::now().as_millis().saturating_sub(started);
    worker::console_log!("{}", response.log.to_json(response.status, elapsed));

    let out = Headers::new();
    out.set("content-type", response.content_type)?;
    if let Some(cookie) = &response.set_cookie {
        out.set("set-cookie", cookie)?;
    }
    if let Some(allow) = response.allow {
        out.set("allow", allow)?;
    }
    Ok(Response::ok(response.body)?
        .with_status(response.status)
        .with_headers(out))
}
