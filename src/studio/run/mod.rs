//! An execution of a flow: where it waits, its variables and the widget outputs its templates
//! can still read, moved on by one event at a time (a text, a timeout, a start).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::conditions;
use super::flow::{Flow, Http, Reads, Widget, HTTP_TIMEOUT_SECS};
use super::liquid::Template;
use crate::prelude::{ClientRequest, Context, ReplyMessage};

/// Studio's limits (Studio FAQ, https://www.twilio.com/docs/studio/user-guide/studio-faq):
/// "Each Execution ends after 1,000 steps".
pub const MAX_STEPS: u32 = 1000;
/// "If the same widget runs 10 times in a row during an Execution, that Execution will stop."
pub const MAX_REPEATS: u32 = 10;

/// The execution, sealed into the pair's cookie as the conversation's state. `Default` is
/// no execution: the next text starts one at the trigger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Execution {
    /// The Send & Wait For Reply widget waiting for the person's answer; `None` when no
    /// execution is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget: Option<String>,
    /// The flow the widget is in, when it is a subflow (empty: the flow `STUDIO_FLOW` names).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub flow: String,
    /// `flow.variables`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub variables: Map<String, Value>,
    /// `flow.data` (an incomingRequest's `parameters`, a subflow's parameters).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
    /// `widgets.<name>.…`: only the outputs some template of the flow reads.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub widgets: Map<String, Value>,
    /// `trigger.message.…` (or `trigger.request.…`), when some template reads `trigger`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub trigger: Map<String, Value>,
    /// `contact.channel.address`: the person.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub contact: String,
    /// `flow.channel.address`: the number they texted.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Steps taken so far (Studio ends an execution after [`MAX_STEPS`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub steps: u32,
    /// How many times in a row the waiting widget has run (Studio stops at [`MAX_REPEATS`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub repeats: u32,
    /// The waiting widget's message went out through the Messages API (after a timeout, or
    /// opening a started conversation), so a failed delivery report can take its
    /// `deliveryFailure` transition.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sent_by_api: bool,
    /// The flows a run-subflow widget is running this one from, innermost last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
}

/// A flow waiting on a subflow it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parent {
    /// Its flow (empty: the main one).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub flow: String,
    /// Its run-subflow widget.
    pub widget: String,
    /// Its `flow.variables`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub variables: Map<String, Value>,
    /// Its `flow.data`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
    /// Its widget outputs.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub widgets: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The flows of a worker: the one `STUDIO_FLOW` names and the subflows it runs.
#[derive(Debug)]
pub struct Flows {
    /// The main flow's name.
    pub main: String,
    /// Every flow by name.
    pub all: BTreeMap<String, Flow>,
}

impl Flows {
    fn get(&self, name: &str) -> &Flow {
        let name = if name.is_empty() { &self.main } else { name };
        // Every name stored in an execution was a flow when it was stored; a deploy that
        // removed the flow finds none, and the main flow answers (the caller resets).
        self.all.get(name).unwrap_or_else(|| &self.all[&self.main])
    }

    fn has(&self, name: &str) -> bool {
        name.is_empty() || self.all.contains_key(name)
    }
}

/// What moves an execution on.
pub enum Event {
    /// A text from the person: its parameters as Twilio sent them.
    Message(Map<String, Value>),
    /// `POST /conversations`: the request's `parameters` become `flow.data`.
    Request {
        /// `parameters`.
        parameters: Map<String, Value>,
        /// The person (`contact.channel.address`).
        contact: String,
        /// The worker's number (`flow.channel.address`).
        channel: String,
    },
    /// The waiting widget's timeout passed with no reply.
    Timeout,
}

/// What one event made the flow do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The messages sent, in order.
    pub messages: Vec<ReplyMessage>,
    /// The execution now waits for a reply this long (seconds) before its timeout.
    pub wait: Option<u64>,
    /// Why the execution ended early (a limit), for the log.
    pub stopped: Option<&'static str>,
}

/// A step's place: which flow and widget.
struct At {
    flow: String,
    widget: String,
}

impl Execution {
    /// Moves the execution on by `event`. `by_api` says the messages will go out through the
    /// Messages API (a timeout, a start) rather than as the webhook's TwiML.
    pub async fn advance(
        &mut self,
        flows: &Flows,
        event: Event,
        by_api: bool,
        delivery_failed: bool,
        ctx: &Context<'_>,
    ) -> Outcome {
        let mut out = Outcome::default();
        if !self.flow.is_empty() && !flows.has(&self.flow)
            || self.parents.iter().any(|p| !flows.has(&p.flow))
        {
            *self = Execution::default();
        }
        let waiting = self
            .widget
            .clone()
            .filter(|w| flows.get(&self.flow).state(w).is_some());
        let first = match (event, waiting) {
            (Event::Message(params), Some(widget)) => {
                // A reply came, so the message reached them: incomingMessage.
                let flow = flows.get(&self.flow);
                self.keep_output(&flow.reads, &widget, "inbound", Value::Object(params));
                self.transition(flow, &widget, "incomingMessage")
            }
            (Event::Timeout, Some(widget)) => {
                let flow = flows.get(&self.flow);
                let event = if delivery_failed && self.sent_by_api {
                    "deliveryFailure"
                } else {
                    "timeout"
                };
                self.transition(flow, &widget, event)
            }
            (Event::Timeout, None) => return out,
            (Event::Message(params), None) => {
                self.begin(&params);
                if flows.get("").reads.trigger {
                    self.trigger.insert("message".into(), Value::Object(params));
                }
                // A flow drawn for Conversations (the "Incoming Conversation" trigger) runs
                // its conversation transition for texts when its incomingMessage has none.
                let main = flows.get("");
                main.start("incomingMessage")
                    .or_else(|| main.start("incomingConversationMessage"))
                    .map(str::to_string)
            }
            (
                Event::Request {
                    parameters,
                    contact,
                    channel,
                },
                _,
            ) => {
                *self = Execution {
                    contact,
                    channel,
                    data: parameters.clone(),
                    ..Execution::default()
                };
                if flows.get("").reads.trigger {
                    self.trigger
                        .insert("request".into(), json!({ "parameters": parameters }));
                }
                flows.get("").start("incomingRequest").map(str::to_string)
            }
        };
        self.widget = None;
        self.sent_by_api = false;
        let mut next = first.map(|widget| At {
            flow: self.flow.clone(),
            widget,
        });
        let mut previous = String::new();
        let mut repeats = self.repeats;
        while let Some(at) = next.take() {
            self.steps += 1;
            if at.widget == previous {
                repeats += 1;
            } else {
                previous.clone_from(&at.widget);
                repeats = 1;
            }
            if self.steps > MAX_STEPS {
                out.stopped = Some("the execution reached Studio's 1,000 steps");
                break;
            }
            if repeats >= MAX_REPEATS {
                out.stopped = Some("one widget ran 10 times in a row");
                break;
            }
            next = self
                .step(flows, at, &mut out, by_api, &mut repeats, ctx)
                .await;
        }
        if out.stopped.is_some() || self.widget.is_none() {
            // Ended (no transition left, or a limit): the next text starts afresh.
            *self = Execution::default();
            out.wait = None;
        }
        out
    }

    /// A fresh execution for the pair that `params` come from.
    fn begin(&mut self, params: &Map<String, Value>) {
        let text = |name: &str| {
            params
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        *self = Execution {
            contact: text("From"),
            channel: text("To"),
            ..Execution::default()
        };
    }

    /// Where `widget` of `flow` goes on `event`.
    fn transition(&self, flow: &Flow, widget: &str, event: &str) -> Option<String> {
        flow.state(widget)?.next.get(event)?.clone()
    }

    /// Keeps `value` as `widgets.<widget>.<field>` if a template can read it.
    fn keep_output(&mut self, reads: &Reads, widget: &str, field: &str, value: Value) {
        if !reads.keeps(widget, field) {
            return;
        }
        let entry = self
            .widgets
            .entry(widget.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(field.to_string(), value);
        }
    }

    /// What the templates see.
    fn scope(&self) -> Value {
        json!({
            "trigger": self.trigger,
            "widgets": self.widgets,
            "flow": {
                "variables": self.variables,
                "data": self.data,
                "channel": { "address": self.channel },
            },
            "contact": { "channel": { "address": self.contact } },
        })
    }

    async fn step(
        &mut self,
        flows: &Flows,
        at: At,
        out: &mut Outcome,
        by_api: bool,
        repeats: &mut u32,
        ctx: &Context<'_>,
    ) -> Option<At> {
        let flow = flows.get(&at.flow);
        let state = flow.state(&at.widget)?;
        let go = |event: &str| {
            state.next.get(event).cloned().flatten().map(|widget| At {
                flow: at.flow.clone(),
                widget,
            })
        };
        let next = match &state.widget {
            Widget::Trigger => go("incomingMessage"),
            Widget::SendMessage { body, media } => {
                out.messages.push(self.message(body, media.as_ref()));
                go("sent")
            }
            Widget::SendAndWait {
                body,
                media,
                timeout,
            } => {
                out.messages.push(self.message(body, media.as_ref()));
                self.widget = Some(state.name.clone());
                self.flow.clone_from(&at.flow);
                self.repeats = *repeats;
                self.sent_by_api = by_api;
                out.wait = Some(*timeout);
                return None;
            }
            Widget::Split { input, matches } => {
                let scope = self.scope();
                let input = input.render(&scope);
                let found = matches.iter().find(|(conditions, _)| {
                    !conditions.is_empty()
                        && conditions.iter().all(|c| {
                            let argument = c
                                .argument
                                .as_ref()
                                .map(|a| a.render(&scope))
                                .unwrap_or_else(|| input.clone());
                            conditions::holds(c.kind, &argument, &c.value.render(&scope), ctx.now())
                        })
                });
                match found {
                    Some((_, next)) => next.clone().map(|widget| At {
                        flow: at.flow.clone(),
                        widget,
                    }),
                    None => go("noMatch"),
                }
            }
            Widget::SetVariables(pairs) => {
                let scope = self.scope();
                for pair in pairs {
                    self.variables.insert(pair.key.clone(), pair.render(&scope));
                }
                go("next")
            }
            Widget::Http(http) => {
                let (ok, output) = self.request(http, ctx).await;
                for (field, value) in output {
                    self.keep_output(&flow.reads, &state.name, field, value);
                }
                go(if ok { "success" } else { "failed" })
            }
            Widget::Subflow {
                flow: sub,
                parameters,
            } => {
                let scope = self.scope();
                let data: Map<String, Value> = parameters
                    .iter()
                    .map(|p| (p.key.clone(), p.render(&scope)))
                    .collect();
                self.parents.push(Parent {
                    flow: at.flow.clone(),
                    widget: state.name.clone(),
                    variables: std::mem::take(&mut self.variables),
                    data: std::mem::replace(&mut self.data, data),
                    widgets: std::mem::take(&mut self.widgets),
                });
                let subflow = flows.get(sub);
                subflow.start("incomingParent").map(|widget| At {
                    flow: sub.clone(),
                    widget: widget.to_string(),
                })
            }
        };
        if next.is_some() {
            return next;
        }
        // This flow ended: a subflow returns to the widget that ran it, its variables as
        // that widget's output (https://www.twilio.com/docs/studio/subflows), and a parent
        // whose `completed` goes nowhere ends in turn.
        loop {
            let parent = self.parents.pop()?;
            let variables = std::mem::replace(&mut self.variables, parent.variables);
            self.data = parent.data;
            self.widgets = parent.widgets;
            let flow = flows.get(&parent.flow);
            for (key, value) in variables {
                self.keep_output(&flow.reads, &parent.widget, &key, value);
            }
            if let Some(widget) = self.transition(flow, &parent.widget, "completed") {
                return Some(At {
                    flow: parent.flow,
                    widget,
                });
            }
        }
    }

    fn message(&self, body: &Template, media: Option<&Template>) -> ReplyMessage {
        let scope = self.scope();
        let mut message = ReplyMessage::text(body.render(&scope));
        if let Some(url) = media.map(|m| m.render(&scope)) {
            for url in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                message = message.with_media(url);
            }
        }
        message
    }

    /// Runs a Make HTTP Request widget: `success` for a 2xx answer, `failed` for any other
    /// and for no answer; its outputs `status_code`, `content_type`, `body` and, for a JSON
    /// answer, `parsed` (https://www.twilio.com/docs/studio/widget-library/http-request).
    async fn request(&self, http: &Http, ctx: &Context<'_>) -> (bool, Vec<(&'static str, Value)>) {
        let scope = self.scope();
        let url = http.url.render(&scope);
        let pairs: Vec<(String, String)> = http
            .parameters
            .iter()
            .map(|p| (p.key.clone(), p.value.render(&scope)))
            .collect();
        let mut request = ClientRequest::get(url.trim());
        request.method.clone_from(&http.method);
        if http.json {
            let body = http
                .body
                .as_ref()
                .map(|b| b.render(&scope))
                .unwrap_or_else(|| {
                    let object: Map<String, Value> = pairs
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    Value::Object(object).to_string()
                });
            request.body = body.into_bytes();
            request = request.header("content-type", http.content_type.clone());
        } else if http.method == "GET" {
            request = request.query(&pairs);
        } else {
            request.body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish()
                .into_bytes();
            request = request.header("content-type", http.content_type.clone());
        }
        if http.method != "GET" {
            request = request.idempotency_key(ctx.idempotency_key());
        }
        request = request.timeout(Duration::from_secs(HTTP_TIMEOUT_SECS));
        match ctx.fetch(request).await {
            Ok(response) => {
                let body = String::from_utf8_lossy(&response.body).into_owned();
                let mut output = vec![("status_code", json!(response.status))];
                if let Ok(parsed) = serde_json::from_str::<Value>(&body) {
                    output.push(("parsed", parsed));
                }
                output.push(("body", Value::String(body)));
                (response.is_success(), output)
            }
            Err(_) => (false, Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests;
