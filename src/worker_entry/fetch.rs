//! `fetch` for the conversations' outside calls, each bounded by its request's timeout.

use futures_util::future::{select, Either};
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::js::Sleep;
use super::{call, js_error};
#[cfg(feature = "objects")]
use crate::conversation::HttpClient;
use crate::conversation::{ClientError, ClientRequest, ClientResponse, LocalFuture};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, bound directly (see the objects' stub in `objects.rs`).
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(
        url: &str,
        init: &web_sys::RequestInit,
    ) -> std::result::Result<Promise, JsValue>;
}

/// Sends a conversation's requests with `fetch`, bounded by each request's timeout.
#[cfg(feature = "objects")]
pub(super) struct FetchClient;

#[cfg(feature = "objects")]
impl HttpClient for FetchClient {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, std::result::Result<ClientResponse, ClientError>> {
        send(request)
    }
}

/// Sends `request` with `fetch`, bounded by its timeout.
pub(crate) fn send(
    request: ClientRequest,
) -> LocalFuture<'static, std::result::Result<ClientResponse, ClientError>> {
    Box::pin(async move {
        let timeout = request.timeout;
        let call = Box::pin(fetch_once(request));
        match select(call, Sleep::new(timeout)).await {
            Either::Left((result, _)) => result.map_err(ClientError::Failed),
            Either::Right(_) => Err(ClientError::Timeout),
        }
    })
}

async fn fetch_once(request: ClientRequest) -> std::result::Result<ClientResponse, String> {
    let headers = web_sys::Headers::new().map_err(|e| js_error(&e))?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(|e| js_error(&e))?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method);
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body.as_slice()));
    }
    let response: web_sys::Response = call(global_fetch(&request.url, &init))
        .await?
        .unchecked_into();
    let body = call(response.array_buffer()).await?;
    Ok(ClientResponse {
        status: response.status(),
        body: js_sys::Uint8Array::new(&body).to_vec(),
    })
}
