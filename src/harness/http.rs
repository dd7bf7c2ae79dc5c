//! The fake outside world of the test phone: an HTTP client that answers from a table, by
//! method, path and query (in any order), after a modelled delay, and records every request.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::conversation::{ClientError, ClientRequest, ClientResponse, HttpClient, LocalFuture};

/// What a request is matched by: the method (`None`: any), the URL without its query and
/// fragment, and the query's decoded pairs, sorted, so that their order does not matter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    method: Option<String>,
    base: String,
    query: Vec<(String, String)>,
}

impl Target {
    /// The target of `url`, however its query is ordered or its method is cased: a
    /// conversation builds its URLs its own way.
    fn new(method: Option<&str>, url: &str) -> Self {
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        query.sort();
        Target {
            method: method.map(str::to_ascii_uppercase),
            base: base.to_string(),
            query,
        }
    }

    /// The same target for any method.
    fn any_method(&self) -> Self {
        Target {
            method: None,
            ..self.clone()
        }
    }
}

/// One fake answer: what comes back, and how long the other side takes to send it.
#[derive(Debug, Clone)]
struct Answer {
    result: Result<ClientResponse, ClientError>,
    delay: Duration,
}

impl Answer {
    /// What the caller sees under its `timeout`: an answer slower than it is a timeout. The
    /// delay is compared, never slept: [`super::block_on`] has no timer.
    fn within(self, timeout: Duration) -> Result<ClientResponse, ClientError> {
        if self.delay > timeout {
            return Err(ClientError::Timeout);
        }
        self.result
    }
}

/// An HTTP client that answers from a table and records every request.
///
/// Requests match by method, the URL's path and its query pairs in any order:
/// [`FakeHttp::respond`] and its siblings match any method, [`FakeHttp::on`] one. An answer
/// can come after a delay, which the request's [`ClientRequest::timeout`] is held to.
///
/// ```
/// use std::time::Duration;
/// use sms_conversation_worker::conversation::{ClientError, ClientRequest, HttpClient};
/// use sms_conversation_worker::harness::{block_on, FakeHttp};
///
/// let http = FakeHttp::default();
/// http.on("GET", "https://api.test/dogs?b=2&a=1").respond(200, "[]");
/// http.on("GET", "https://api.test/slow").after(Duration::from_secs(9)).respond(200, "late");
/// let dogs = ClientRequest::get("https://api.test/dogs").query(&[("a", "1"), ("b", "2")]);
/// assert_eq!(block_on(http.send(dogs)).unwrap().body, b"[]");
/// let slow = ClientRequest::get("https://api.test/slow"); // 5 s by default
/// assert_eq!(block_on(http.send(slow)), Err(ClientError::Timeout));
/// let patient = ClientRequest::get("https://api.test/slow").timeout(Duration::from_secs(10));
/// assert_eq!(block_on(http.send(patient)).unwrap().body, b"late");
/// ```
#[derive(Default)]
pub struct FakeHttp {
    answers: RefCell<BTreeMap<Target, Answer>>,
    once: RefCell<BTreeMap<Target, VecDeque<Answer>>>,
    requests: RefCell<Vec<ClientRequest>>,
    /// The Messages API URL whose Create Message calls are taken when nothing else answers
    /// them ([`FakeHttp::take_messages_at`]), and how many were.
    messages: RefCell<Option<Target>>,
    messages_created: Cell<u64>,
    /// The time the calls took since the phone's clock last moved (ms): each answer's delay,
    /// or the request's timeout when that is shorter. The test phone's clock runs on it, so a
    /// slow call spends the webhook's budget as it would in the worker.
    elapsed_ms: Cell<u64>,
}

/// An answer being set up for one method and URL ([`FakeHttp::on`]): how long it takes and
/// whether it answers once, then what it is.
#[must_use = "nothing is answered until `respond` or `fail`"]
pub struct Answering<'h> {
    http: &'h FakeHttp,
    target: Target,
    delay: Duration,
    once: bool,
}

impl Answering<'_> {
    /// The answer comes after `delay`: a request whose timeout is shorter gets
    /// [`ClientError::Timeout`] instead.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Answers the next matching request only, before the standing answers (queued in order).
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Answers with `status` and `body`.
    pub fn respond(self, status: u16, body: &str) {
        let response = ClientResponse {
            status,
            body: body.as_bytes().to_vec(),
        };
        self.set(Ok(response));
    }

    /// Fails with `error`.
    pub fn fail(self, error: ClientError) {
        self.set(Err(error));
    }

    /// Keeps the answer: a queued one-time answer, or the standing one for its target.
    fn set(self, result: Result<ClientResponse, ClientError>) {
        let answer = Answer {
            result,
            delay: self.delay,
        };
        if self.once {
            let mut once = self.http.once.borrow_mut();
            once.entry(self.target).or_default().push_back(answer);
        } else {
            self.http.answers.borrow_mut().insert(self.target, answer);
        }
    }
}

impl FakeHttp {
    /// Sets up the answer to `method` requests of `url` (its query in any order).
    pub fn on(&self, method: &str, url: &str) -> Answering<'_> {
        self.answering(Some(method), url)
    }

    /// The answer to set for `method` (`None`: any) requests of `url`: a transcript's fake may
    /// name no method.
    pub(super) fn answering(&self, method: Option<&str>, url: &str) -> Answering<'_> {
        Answering {
            http: self,
            target: Target::new(method, url),
            delay: Duration::ZERO,
            once: false,
        }
    }

    /// Answers requests to `url` (any method) with `status` and `body`.
    pub fn respond(&self, url: &str, status: u16, body: &str) {
        self.answering(None, url).respond(status, body);
    }

    /// Answers requests to `url` (any method) with `status` and `body` after `delay`: a
    /// request whose timeout is shorter gets [`ClientError::Timeout`].
    pub fn respond_after(&self, url: &str, delay: Duration, status: u16, body: &str) {
        self.answering(None, url).after(delay).respond(status, body);
    }

    /// Fails requests to `url` (any method) with `error` (e.g. [`ClientError::Timeout`]).
    pub fn fail(&self, url: &str, error: ClientError) {
        self.answering(None, url).fail(error);
    }

    /// Answers the next request to `url` with `status` and `body`, once, before the answers
    /// [`FakeHttp::respond`] and [`FakeHttp::fail`] set (queued in order).
    pub fn respond_once(&self, url: &str, status: u16, body: &str) {
        self.answering(None, url).once().respond(status, body);
    }

    /// Fails the next request to `url` with `error`, once (queued in order).
    pub fn fail_once(&self, url: &str, error: ClientError) {
        self.answering(None, url).once().fail(error);
    }

    /// From now on, Create Message calls (POSTs) to `url` that no answer set here matches
    /// are answered `201` with a new `SM…` sid, as Twilio's Messages API takes a message: the
    /// answers a test sets for `url` still win.
    pub(super) fn take_messages_at(&self, url: &str) {
        *self.messages.borrow_mut() = Some(Target::new(Some("POST"), url));
    }

    /// The Messages API's `201` to `request`, when it is a Create Message call to the URL
    /// [`FakeHttp::take_messages_at`] set: each with a sid of its own, as Twilio's are, so a
    /// status callback or a kept turn tells the sends apart.
    fn created(&self, request: &ClientRequest) -> Option<Answer> {
        let exact = Target::new(Some(&request.method), &request.url);
        if self.messages.borrow().as_ref() != Some(&exact) {
            return None;
        }
        let n = self.messages_created.get() + 1;
        self.messages_created.set(n);
        // `SMf…`: never one of the test phone's own MessageSids (`SM0…`).
        let body = format!(r#"{{"sid": "SMf{n:031x}", "status": "queued"}}"#);
        Some(Answer {
            result: Ok(ClientResponse {
                status: 201,
                body: body.into_bytes(),
            }),
            delay: Duration::ZERO,
        })
    }

    /// The time the calls took since [`FakeHttp::restart_clock`] (ms).
    pub(super) fn elapsed_ms(&self) -> u64 {
        self.elapsed_ms.get()
    }

    /// The phone's clock moved: the calls' time counts from here.
    pub(super) fn restart_clock(&self) {
        self.elapsed_ms.set(0);
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<ClientRequest> {
        self.requests.borrow().clone()
    }

    /// The answer for `request`: a queued one before a standing one, and for each, one for
    /// its method before one for any.
    fn answer(&self, request: &ClientRequest) -> Option<Answer> {
        let exact = Target::new(Some(&request.method), &request.url);
        let targets = [exact.any_method(), exact];
        let mut once = self.once.borrow_mut();
        let queued = targets
            .iter()
            .rev()
            .find_map(|t| once.get_mut(t).and_then(VecDeque::pop_front));
        queued.or_else(|| {
            let answers = self.answers.borrow();
            targets.iter().rev().find_map(|t| answers.get(t).cloned())
        })
    }
}

impl HttpClient for FakeHttp {
    fn send(
        &self,
        request: ClientRequest,
    ) -> LocalFuture<'static, Result<ClientResponse, ClientError>> {
        // What `fetch` refuses before sending, refused here too.
        let bodied_get = !request.body.is_empty() && matches!(&*request.method, "GET" | "HEAD");
        let answer = match self.answer(&request).or_else(|| self.created(&request)) {
            _ if bodied_get => Err(ClientError::NotSent(
                "Request with a GET or HEAD method cannot have a body.".into(),
            )),
            Some(answer) => {
                let took = answer.delay.min(request.timeout).as_millis() as u64;
                self.elapsed_ms.set(self.elapsed_ms.get() + took);
                answer.within(request.timeout)
            }
            None => Err(ClientError::Failed(format!(
                "no fake answer for {} {}",
                request.method, request.url
            ))),
        };
        self.requests.borrow_mut().push(request);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests;
