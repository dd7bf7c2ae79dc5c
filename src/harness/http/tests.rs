use super::*;
use crate::harness::block_on;

fn send(http: &FakeHttp, request: ClientRequest) -> Result<ClientResponse, ClientError> {
    block_on(http.send(request))
}

fn body(answer: Result<ClientResponse, ClientError>) -> String {
    match answer {
        Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn queries_match_in_any_order_and_methods_when_named() {
    let http = FakeHttp::default();
    http.on("GET", "https://api.test/dogs?b=2&a=1")
        .respond(200, "get");
    http.on("post", "https://api.test/dogs?a=1&b=2")
        .respond(201, "post");
    let get = ClientRequest::get("https://api.test/dogs?a=1&b=2");
    assert_eq!(body(send(&http, get)), "get");
    let post = ClientRequest::post_json("https://api.test/dogs?b=2&a=1", &1);
    assert_eq!(body(send(&http, post)), "post");
    let other = ClientRequest::get("https://api.test/dogs?a=1&b=3");
    assert!(body(send(&http, other)).starts_with("error: no fake answer"));
    let put = ClientRequest {
        method: "PUT".into(),
        ..ClientRequest::get("https://api.test/dogs?a=1&b=2")
    };
    assert!(body(send(&http, put)).starts_with("error: no fake answer"));
}

#[test]
fn any_method_answers_ignore_query_order_too_and_a_named_method_wins() {
    let http = FakeHttp::default();
    http.respond("https://api.test/x?q=a%20b&n=1", 200, "any");
    let request = ClientRequest::get("https://api.test/x").query(&[("n", "1"), ("q", "a b")]);
    assert_eq!(body(send(&http, request.clone())), "any");
    http.on("GET", "https://api.test/x?n=1&q=a+b")
        .respond(200, "get");
    assert_eq!(body(send(&http, request.clone())), "get");
    http.fail_once("https://api.test/x?q=a+b&n=1", ClientError::Timeout);
    assert_eq!(body(send(&http, request.clone())), "error: timed out");
    assert_eq!(body(send(&http, request)), "get", "once means once");
}

#[test]
fn a_delay_longer_than_the_timeout_is_a_timeout() {
    let http = FakeHttp::default();
    let url = "https://api.test/slow";
    http.respond_after(url, Duration::from_secs(3), 200, "ok");
    let quick = ClientRequest::get(url).timeout(Duration::from_secs(2));
    assert_eq!(send(&http, quick), Err(ClientError::Timeout));
    let exact = ClientRequest::get(url).timeout(Duration::from_secs(3));
    assert_eq!(body(send(&http, exact)), "ok", "on time is in time");
    http.on("GET", url)
        .after(Duration::from_millis(10))
        .once()
        .fail(ClientError::Failed("reset".into()));
    assert_eq!(body(send(&http, ClientRequest::get(url))), "error: reset");
    assert_eq!(http.requests().len(), 3, "timed-out requests were sent too");
}
