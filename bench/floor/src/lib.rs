//! Hello world: constant TwiML, no parsing, no signature, no cookie.
use worker::{event, Context, Env, Headers, Request, Response, Result};

const TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hello, thanks for message number 10</Message></Response>"#;

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "text/xml; charset=utf-8")?;
    Ok(Response::ok(TWIML)?.with_headers(headers))
}
