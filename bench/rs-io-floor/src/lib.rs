//! Everything a workers-rs `#[event(fetch)]` entry reads and writes per webhook (as
//! src/worker_entry.rs did before src/entry.mjs took over the fetch handler), and nothing else: the
//! method, the URL, four headers and the body in, a log line and a TwiML answer with a
//! Set-Cookie (of the size the signed worker sets) out.
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{console_log, event, Context, Date, Env, Headers, Response, Result};

const TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello, thanks for message number 10</Message></Response>"#;

fn set_cookie() -> String {
    format!(
        "sms_state=2cs.AAAAAAAA.{}.{}; HttpOnly; Secure; Path=/; Max-Age=14400",
        "A".repeat(362),
        "B".repeat(43)
    )
}

async fn read_declared_body(req: &web_sys::Request) -> Result<Vec<u8>> {
    let buffer = JsFuture::from(req.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, _env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let content_type = header("content-type");
    let signature = header("x-twilio-signature");
    let cookie = header("cookie");
    let url = req.url();
    let method = req.method();
    let declared = header("content-length").and_then(|l| l.trim().parse::<usize>().ok());
    let body = match (method == "POST", declared) {
        (true, Some(_)) => read_declared_body(&req).await.unwrap_or_default(),
        _ => Vec::new(),
    };
    // What the worker would hand its core; unused here, as nothing is done with it.
    let _ = (&content_type, &signature, &cookie, &url, &body);

    let elapsed = Date::now().as_millis().saturating_sub(started);
    console_log!(
        "{{\"event\":\"webhook\",\"outcome\":\"reply\",\"status\":200,\"source\":\"cookie\",\"count\":10,\"from\":\"+14*******00\",\"ms\":{elapsed}}}"
    );
    let out = Headers::new();
    out.set("content-type", "text/xml; charset=utf-8")?;
    out.set("set-cookie", &set_cookie())?;
    out.set("x-state-source", "cookie")?;
    Ok(Response::ok(TWIML)?.with_status(200).with_headers(out))
}
