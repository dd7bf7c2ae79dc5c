//! Calling outside services from a conversation: one small trait, so the worker sends
//! requests with `fetch` and native tests use a fake that records them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Twilio waits 15 s for the webhook's answer; a call out gets at most this by default,
/// which leaves room for a second call and the reply itself.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A future that need not be `Send`: a Workers isolate runs on one thread.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `work` as a future of its own, polled through a pointer: a route a webhook never takes
/// stays out of the webhook's state machine, whose code V8 compiles whole the first time a
/// fresh isolate runs it (and which every webhook's run is spread over). Those routes are
/// large with KV or the objects; without either they are a few lines, which the pointer's
/// own code would outweigh, so `work` stays inline.
#[cfg(any(feature = "kv", feature = "objects"))]
pub(crate) fn apart<'a, T>(work: impl Future<Output = T> + 'a) -> LocalFuture<'a, T> {
    Box::pin(work)
}

/// Without KV or the objects: `work` itself (see the other `apart`).
#[cfg(not(any(feature = "kv", feature = "objects")))]
pub(crate) fn apart<'a, T>(work: impl Future<Output = T> + 'a) -> impl Future<Output = T> + 'a {
    work
}

/// An outgoing HTTP request.
///
/// ```
/// use std::time::Duration;
/// use sms_conversation_worker::prelude::*;
///
/// let request = ClientRequest::post_json("https://crm.test/notes", &serde_json::json!({"note": "called back"}))
///     .bearer("t0ken")
///     .header("X-Trace", "42")
///     .timeout(Duration::from_secs(2));
/// assert_eq!((request.method.as_str(), request.url.as_str()), ("POST", "https://crm.test/notes"));
/// assert_eq!(request.header_value("authorization"), Some("Bearer t0ken"));
/// assert_eq!(request.header_value("content-type"), Some("application/json"));
/// assert_eq!(request.body, br#"{"note":"called back"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// Give up after this long: the call then fails with [`ClientError::Timeout`].
    pub timeout: Duration,
}

impl ClientRequest {
    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        ClientRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A `POST` of `value` as JSON to `url`.
    pub fn post_json(url: impl Into<String>, value: &impl serde::Serialize) -> Self {
        ClientRequest {
            method: "POST".into(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            ..ClientRequest::get(url)
        }
        .header("content-type", "application/json")
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of header `name` (any case), for tests that look at what was sent.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        let header = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        header.map(|(_, value)| value.as_str())
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Adds `Idempotency-Key: <key>` (nothing for `None`), the header APIs that deduplicate
    /// requests read (Stripe's, and the IETF draft's): give it
    /// [`Context::idempotency_key`](super::Context::idempotency_key) so that a message
    /// answered twice does the work once, and send every repeat of a request with the
    /// same key.
    pub fn idempotency_key<'k>(self, key: impl Into<Option<&'k str>>) -> Self {
        match key.into() {
            Some(key) => self.header("idempotency-key", key),
            None => self,
        }
    }

    /// Appends `pairs` to the URL's query, form-encoded (after any query it has), so that
    /// values need no escaping by hand.
    ///
    /// ```
    /// use sms_conversation_worker::conversation::ClientRequest;
    /// let request = ClientRequest::get("https://api.test/search?lang=en").query(&[("q", "a b&c")]);
    /// assert_eq!(request.url, "https://api.test/search?lang=en&q=a+b%26c");
    /// ```
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if pairs.is_empty() {
            return self;
        }
        let fragment = self.url.find('#').map(|at| self.url.split_off(at));
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
            .finish();
        match self.url.find('?') {
            None => self.url.push('?'),
            Some(at) if at + 1 < self.url.len() && !self.url.ends_with('&') => self.url.push('&'),
            Some(_) => {}
        }
        self.url.push_str(&encoded);
        self.url.extend(fragment);
        self
    }

    /// Changes how long the call may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// An answer to a [`ClientRequest`], whatever its status.
///
/// ```
/// use sms_conversation_worker::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Slot { when: String }
///
/// let response = ClientResponse { status: 200, body: br#"{"when": "Tuesday at 3pm"}"#.to_vec() };
/// assert!(response.is_success());
/// assert_eq!(response.json::<Slot>().unwrap().when, "Tuesday at 3pm");
/// // A body that is not the JSON expected is an error, never a panic.
/// let broken = ClientResponse { status: 200, body: b"<html>".to_vec() };
/// assert!(broken.json::<Slot>().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientResponse {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Failed(e.to_string()))
    }
}

/// Why a call got no answer.
///
/// For a call with side effects the difference matters: after [`ClientError::NotSent`] the
/// other side certainly never saw the request and it is safe to send again; after
/// [`ClientError::Timeout`] or [`ClientError::Failed`] it may have arrived and acted.
///
/// ```
/// use std::rc::Rc;
/// use sms_conversation_worker::harness::block_on;
/// use sms_conversation_worker::prelude::*;
///
/// let http = Rc::new(FakeHttp::default());
/// http.fail("https://api.test/slow", ClientError::Timeout);
/// http.fail("https://api.test/gone", ClientError::NotSent("dns".into()));
/// let lookup = |_: &str| None;
/// let ctx = Context::new(Vars::new(&lookup), http.clone(), 0);
/// let slow = block_on(ctx.fetch(ClientRequest::get("https://api.test/slow")));
/// assert_eq!(slow, Err(ClientError::Timeout));
/// // Only a request that certainly never left may be sent again without a second thought.
/// assert!(!ClientError::Timeout.certainly_not_sent());
/// let gone = block_on(ctx.fetch(ClientRequest::get("https://api.test/gone"))).unwrap_err();
/// assert!(gone.certainly_not_sent());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// It took longer than the request's timeout: it may have arrived.
    Timeout,
    /// The network failed, possibly after the request was written (a connection reset or
    /// lost mid-answer): it may have arrived.
    Failed(String),
    /// Refused before a byte of the request went out (a bad URL, DNS, a connection refused).
    NotSent(String),
}

impl ClientError {
    /// True when the request certainly did not reach the other side.
    pub fn certainly_not_sent(&self) -> bool {
        matches!(self, ClientError::NotSent(_))
    }

    /// The error for a failed `fetch`, from the runtime's words: only the failures that
    /// happen before a connection exists are [`ClientError::NotSent`]; anything else may
    /// have reached the other side.
    ///
    /// ```
    /// use sms_conversation_worker::conversation::ClientError;
    /// assert!(ClientError::from_fetch_error("connect ECONNREFUSED 127.0.0.1:9").certainly_not_sent());
    /// assert!(!ClientError::from_fetch_error("Network connection lost.").certainly_not_sent());
    /// ```
    pub fn from_fetch_error(why: &str) -> ClientError {
        const BEFORE_CONNECTING: &[&str] = &[
            "econnrefused",
            "connection refused",
            "dns",
            "enotfound",
            "invalid url",
            "fetch api cannot load",
            "not supported",
        ];
        let lower = why.to_ascii_lowercase();
        if BEFORE_CONNECTING.iter().any(|w| lower.contains(w)) {
            ClientError::NotSent(why.to_string())
        } else {
            ClientError::Failed(why.to_string())
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Timeout => f.write_str("timed out"),
            ClientError::Failed(why) | ClientError::NotSent(why) => f.write_str(why),
        }
    }
}

/// Sends HTTP requests: `fetch` in the worker, a fake in tests
/// ([`crate::harness::FakeHttp`]). Implementations enforce [`ClientRequest::timeout`].
pub trait HttpClient {
    /// Sends `request` and waits for the whole answer.
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>>;

    /// Whether this is [`PlatformFetch`], the stand-in for the runtime's own `fetch`.
    #[doc(hidden)]
    fn is_platform(&self) -> bool {
        false
    }
}

/// The runtime's own `fetch`, as the Workers adapter hands it to conversations: a marker.
/// [`Context`] sees it and calls the platform's `fetch` directly, never through this value,
/// so the wasm carries `fetch`'s code only when a conversation makes a request
/// (`ctx.fetch`, `ctx.http`): about 3 KB of gzipped wasm for one that never does.
///
/// [`Context`]: super::Context
#[doc(hidden)]
pub struct PlatformFetch;

impl HttpClient for PlatformFetch {
    fn send(
        &self,
        _request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
        Box::pin(async {
            Err(ClientError::Failed(
                "PlatformFetch is a marker: use Context::fetch".into(),
            ))
        })
    }

    fn is_platform(&self) -> bool {
        true
    }
}

/// A client for configurations that call nothing: every call fails.
pub struct NoClient;

impl HttpClient for NoClient {
    fn send(
        &self,
        _request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
        Box::pin(async { Err(ClientError::Failed("no HTTP client in this runtime".into())) })
    }
}

/// A call and its answer as a transcript's `fake` step (`{"fake": {method, url, status,
/// body}}`, or `error` for a call that got none), for the dev phone.
pub(crate) fn fake_json(
    method: &str,
    url: &str,
    answer: &Result<ClientResponse, ClientError>,
) -> String {
    #[derive(serde::Serialize)]
    struct Fake<'a> {
        method: &'a str,
        url: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<std::borrow::Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'static str>,
    }
    #[derive(serde::Serialize)]
    struct Step<'a> {
        fake: Fake<'a>,
    }
    let fake = match answer {
        Ok(r) => Fake {
            method,
            url,
            status: Some(r.status),
            body: Some(String::from_utf8_lossy(&r.body)),
            error: None,
        },
        Err(e) => Fake {
            method,
            url,
            status: None,
            body: None,
            error: Some(match e {
                ClientError::Timeout => "timeout",
                ClientError::NotSent(_) => "not_sent",
                ClientError::Failed(_) => "failed",
            }),
        },
    };
    serde_json::to_string(&Step { fake }).unwrap_or_default()
}
