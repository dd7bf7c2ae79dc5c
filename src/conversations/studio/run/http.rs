//! The Make HTTP Request widget (<https://www.twilio.com/docs/studio/widget-library/http-request>):
//! `success` for a 2xx answer, `failed` for any other and for no answer; its outputs
//! `status_code`, `body` and, for a JSON answer, `parsed`.

use std::time::Duration;

use serde_json::{Map, Value};

use super::Execution;
use crate::conversations::studio::flow::{Http, Reads, HTTP_TIMEOUT_SECS};
use crate::conversations::studio::liquid::Budget;
use crate::prelude::{ClientRequest, ClientResponse, Context};

impl Execution {
    /// Makes the request, keeps the outputs `reads` names as `widget`'s, and tells whether
    /// it succeeded.
    pub(super) async fn make_http_request(
        &mut self,
        http: &Http,
        reads: &Reads,
        widget: &str,
        budget: &Budget,
        ctx: &Context<'_>,
    ) -> bool {
        let request = request(http, &self.scope(), budget, ctx);
        // A request whose templates spent the budget is not made: the execution stops.
        if budget.spent().is_some() {
            return false;
        }
        let Ok(response) = ctx.fetch(request).await else {
            return false;
        };
        for (field, value) in outputs(&response) {
            self.keep_output(reads, widget, field, value);
        }
        response.is_success()
    }
}

/// The request the widget makes, its templates rendered over `scope`.
fn request(http: &Http, scope: &Value, budget: &Budget, ctx: &Context<'_>) -> ClientRequest {
    let url = http.url.render(scope, budget);
    let pairs: Vec<(String, String)> = http
        .parameters
        .iter()
        .map(|p| (p.key.clone(), p.value.render(scope, budget)))
        .collect();
    let mut request = ClientRequest::get(url.trim());
    request.method.clone_from(&http.method);
    // A GET carries its parameters in the query whatever the content type: `fetch` refuses
    // a GET with a body, so the widget would fail without a request going out.
    if bodiless(&http.method) {
        request = request.query(&pairs);
    } else if http.json {
        request.body = json_body(http, scope, &pairs, budget).into_bytes();
        request = request.header("content-type", http.content_type.clone());
    } else {
        request.body = form(&pairs).into_bytes();
        request = request.header("content-type", http.content_type.clone());
    }
    if http.method != "GET" {
        request = request.idempotency_key(ctx.idempotency_key());
    }
    request.timeout(Duration::from_secs(HTTP_TIMEOUT_SECS))
}

/// Whether `method` never has a body (`fetch` refuses one).
fn bodiless(method: &str) -> bool {
    method == "GET" || method == "HEAD"
}

/// An `application/json` request's body: the widget's `body`, else its parameters as a
/// JSON object of strings.
fn json_body(http: &Http, scope: &Value, pairs: &[(String, String)], budget: &Budget) -> String {
    if let Some(body) = &http.body {
        return body.render(scope, budget);
    }
    // Inserted one by one: collecting into a map sorts first, another copy of the sort.
    let mut object = Map::new();
    for (k, v) in pairs {
        object.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(object).to_string()
}

pub(super) fn form(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// The widget's outputs for an answer.
pub(super) fn outputs(response: &ClientResponse) -> Vec<(&'static str, Value)> {
    let body = String::from_utf8_lossy(&response.body).into_owned();
    let mut output = vec![("status_code", Value::from(response.status))];
    if let Ok(parsed) = serde_json::from_str::<Value>(&body) {
        output.push(("parsed", parsed));
    }
    output.push(("body", Value::String(body)));
    output
}
