//! An execution of a flow: where it waits, its variables and the widget outputs its templates
//! can still read, moved on by one event at a time (a text, a timeout, a start).
//!
//! Here the execution's state and what the widgets share; `advance` takes an event from
//! the waiting widget to the next wait (or the end), one `step` per widget, with the
//! widgets that leave the flow's hands in `http`, `function` and `subflow`.

mod advance;
mod function;
mod http;
mod step;
mod subflow;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::flow::{Flow, Reads, State};
use crate::prelude::ReplyMessage;

/// Studio's limits (Studio FAQ, <https://www.twilio.com/docs/studio/user-guide/studio-faq>):
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

    /// Whether a template of any flow reads `trigger.…`: a subflow sees its parent's
    /// trigger, so the execution keeps it when any of them reads it.
    fn read_trigger(&self) -> bool {
        self.all.values().any(|flow| flow.reads.trigger)
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
    /// Why the execution ended early (a limit, and the widget it stopped at), for the log.
    pub stopped: Option<String>,
}

/// A step's place: which flow and widget.
struct At {
    flow: String,
    widget: String,
}

impl At {
    /// Where `state`'s transition on `event` goes, in this flow.
    fn then(&self, state: &State, event: &str) -> Option<At> {
        let widget = state.next.get(event).cloned().flatten()?;
        Some(self.to(widget))
    }

    /// The widget `widget` of this flow.
    fn to(&self, widget: String) -> At {
        At {
            flow: self.flow.clone(),
            widget,
        }
    }
}

impl Execution {
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

    /// What the templates see. Built from clones of the maps rather than with `json!`,
    /// which would run each map through serde's serializer: the same value, for less code
    /// and less CPU (a step builds it for every widget that renders).
    fn scope(&self) -> Value {
        let address = |a: &String| object(vec![("address", Value::String(a.clone()))]);
        let flow = object(vec![
            ("variables", Value::Object(self.variables.clone())),
            ("data", Value::Object(self.data.clone())),
            ("channel", address(&self.channel)),
        ]);
        object(vec![
            ("trigger", self.trigger_scope()),
            ("widgets", Value::Object(self.widgets.clone())),
            ("flow", flow),
            ("contact", object(vec![("channel", address(&self.contact))])),
        ])
    }

    /// `trigger`: what started the execution and, in a subflow, the parameters its Run
    /// Subflow widget passed, as `trigger.parent.parameters` ("Those parameters can then be
    /// referenced at runtime inside the Subflow with the trigger object:
    /// `{{trigger.parent.parameters.foo}}`"; the parent's trigger data is copied in too,
    /// <https://www.twilio.com/docs/studio/subflows>). They are `flow.data` as well.
    fn trigger_scope(&self) -> Value {
        let mut trigger = self.trigger.clone();
        if !self.parents.is_empty() {
            let parent = object(vec![("parameters", Value::Object(self.data.clone()))]);
            trigger.insert("parent".into(), parent);
        }
        Value::Object(trigger)
    }
}

/// A JSON object of `entries`: `json!`'s result without its generic serializing.
fn object(entries: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests;
