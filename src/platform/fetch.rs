//! `fetch` for the conversations' outside calls, each bounded by its request's timeout.

use futures_util::future::{select, Either};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::{call, js_error, Sleep};
use crate::conversation::client::{ClientError, ClientRequest, ClientResponse, LocalFuture};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, bound directly (see the objects' stub in `objects.rs`).
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(
        url: &str,
        init: &web_sys::RequestInit,
    ) -> std::result::Result<Promise, JsValue>;
}

/// Sends `request` with `fetch`, bounded by its timeout.
pub(crate) fn send(
    request: ClientRequest,
) -> LocalFuture<'static, std::result::Result<ClientResponse, ClientError>> {
    Box::pin(async move {
        let timeout = request.timeout;
        let call = Box::pin(fetch_once(request));
        match select(call, Sleep::new(timeout)).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(ClientError::Timeout),
        }
    })
}

/// One `fetch`, its failure sorted by whether the request can have gone out: what fails
/// before `fetch` is called, or as it starts, never left the isolate.
async fn fetch_once(request: ClientRequest) -> std::result::Result<ClientResponse, ClientError> {
    let not_sent = |e: JsValue| ClientError::NotSent(js_error(&e));
    let headers = web_sys::Headers::new().map_err(not_sent)?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(not_sent)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method);
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body.as_slice()));
    }
    let promise = global_fetch(&request.url, &init).map_err(not_sent)?;
    let response: web_sys::Response = call(Ok(promise))
        .await
        .map_err(|e| ClientError::from_fetch_error(&e))?
        .unchecked_into();
    // An answer came: the request arrived, whatever happens to the body.
    let body = call(response.array_buffer())
        .await
        .map_err(ClientError::Failed)?;
    Ok(ClientResponse {
        status: response.status(),
        body: js_sys::Uint8Array::new(&body).to_vec(),
    })
}
