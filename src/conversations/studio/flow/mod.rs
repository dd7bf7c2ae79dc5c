//! A flow as Studio exports it (the console's "Export to JSON", or the Flows API's
//! `definition`), read and checked once, when the isolate starts: a flow that would fail
//! half-way through a conversation is refused before the first message, naming the widget.
//!
//! The format: `{"description", "states": [{"name", "type", "transitions": [{"event",
//! "next"?, "conditions"?}], "properties": {…}}], "initial_state": "Trigger", "flags"}`.

mod parse;
mod raw;
mod reads;
mod widgets;

use std::collections::BTreeMap;

use serde_json::Value;

use super::conditions::Kind;
use super::liquid::{Budget, Template};
pub use reads::Reads;
pub use widgets::function::{functions_var, Function, Functions};

/// Studio's limit on how long a Make HTTP Request or Run Function call may take (Studio FAQ,
/// "What limits exist in Studio?": "Each outbound HTTP request … is limited to 10 seconds",
/// <https://www.twilio.com/docs/studio/user-guide/studio-faq>).
pub const HTTP_TIMEOUT_SECS: u64 = 10;
/// Send & Wait For Reply's default wait when the widget names none: one hour
/// (<https://www.twilio.com/docs/studio/widget-library/send-wait-reply>).
pub const DEFAULT_WAIT_SECS: u64 = 3600;

/// One widget, checked: what the runtime needs of it, templates already parsed.
#[derive(Debug)]
pub enum Widget {
    /// `trigger`: where every execution starts; `next` by event (`incomingMessage`,
    /// `incomingRequest`, `incomingParent`).
    Trigger,
    /// `send-message` (<https://www.twilio.com/docs/studio/widget-library/send-message>).
    SendMessage {
        /// The text.
        body: Template,
        /// `media_url`, when set.
        media: Option<Template>,
    },
    /// `send-and-wait-for-reply`
    /// (<https://www.twilio.com/docs/studio/widget-library/send-wait-reply>).
    SendAndWait {
        /// The text.
        body: Template,
        /// `media_url`, when set.
        media: Option<Template>,
        /// How long to wait for the reply, in seconds.
        timeout: u64,
    },
    /// `split-based-on` (<https://www.twilio.com/docs/studio/widget-library/split-based-on>):
    /// the `match` transitions in order, then `noMatch`.
    Split {
        /// `input`, the Variable to Test: every condition tests it. `None` when the widget
        /// has none (a hand-written flow): each condition tests its own `arguments[0]`.
        input: Option<Template>,
        /// Each `match` transition: its conditions (all must hold) and where it goes.
        matches: Vec<(Vec<Condition>, Option<String>)>,
    },
    /// `set-variables` (<https://www.twilio.com/docs/studio/widget-library/set-variables>).
    SetVariables(Vec<Pair>),
    /// `make-http-request` (<https://www.twilio.com/docs/studio/widget-library/http-request>).
    Http(Http),
    /// `run-function` (<https://www.twilio.com/docs/studio/widget-library/run-function>).
    Function(Function),
    /// `run-subflow` (<https://www.twilio.com/docs/studio/widget-library/run-subflow>).
    Subflow {
        /// The flow file it runs (found from the widget's `flow_sid`).
        flow: String,
        /// `parameters`: the subflow's `trigger.parent.parameters` and `flow.data`.
        parameters: Vec<Pair>,
    },
}

/// One condition of a split's `match` transition.
#[derive(Debug)]
pub struct Condition {
    /// Which test.
    pub kind: Kind,
    /// `arguments[0]`, tested only when the widget has no `input`: Studio's exports repeat
    /// the input there, but flows written by others carry the pattern there too.
    pub argument: Option<Template>,
    /// What it tests against.
    pub value: Template,
}

/// A key and its value's template (set-variables' variables, parameters).
#[derive(Debug)]
pub struct Pair {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Template,
    /// "Parse as JSON object" is ticked: a value that renders as JSON is kept as that JSON
    /// (<https://www.twilio.com/docs/studio/widget-library/set-variables>).
    pub json: bool,
}

impl Pair {
    /// The value over `scope`: text, or JSON when the pair says so and it parses.
    pub fn render(&self, scope: &Value, budget: &Budget) -> Value {
        let text = self.value.render(scope, budget);
        if self.json {
            if let Ok(value) = serde_json::from_str(&text) {
                return value;
            }
        }
        Value::String(text)
    }
}

/// A Make HTTP Request widget.
#[derive(Debug)]
pub struct Http {
    /// `GET` or `POST` (or another verb the widget names).
    pub method: String,
    /// `url`.
    pub url: Template,
    /// True for `application/json`: `body` is the JSON; else the form of `parameters`.
    pub json: bool,
    /// `content_type` as the widget gives it.
    pub content_type: String,
    /// `parameters`: the form fields (or the query, for GET).
    pub parameters: Vec<Pair>,
    /// `body`: the JSON text, for `application/json`.
    pub body: Option<Template>,
}

/// A widget with its name and transitions.
#[derive(Debug)]
pub struct State {
    /// The widget's name, as templates name it (`widgets.<name>`).
    pub name: String,
    /// What it does.
    pub widget: Widget,
    /// Event → the next widget (`None`: the execution ends there).
    pub next: BTreeMap<String, Option<String>>,
}

/// A checked flow.
#[derive(Debug)]
pub struct Flow {
    /// Its file's name (without `.json`).
    pub name: String,
    /// Its widgets by name.
    pub states: BTreeMap<String, State>,
    /// The trigger's name (`initial_state`).
    pub initial: String,
    /// What the flow's templates read, so that the execution keeps only that.
    pub reads: Reads,
}

/// Why a flow is refused: the widget (when one is to blame) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// The flow's file name.
    pub flow: String,
    /// The widget at fault, if one is.
    pub widget: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl FlowError {
    pub(crate) fn new(flow: &str, widget: Option<&str>, problem: String) -> FlowError {
        FlowError {
            flow: flow.to_string(),
            widget: widget.map(str::to_string),
            problem,
        }
    }
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.widget {
            Some(widget) => write!(
                f,
                "flows/{}.json: widget \"{widget}\": {}",
                self.flow, self.problem
            ),
            None => write!(f, "flows/{}.json: {}", self.flow, self.problem),
        }
    }
}

/// A `run-subflow` widget's flow SID, for the caller to find the subflow's file.
pub type SubflowLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What a flow's widgets name outside the flow: the subflows and the Functions they run.
pub struct Links<'a> {
    /// A run-subflow widget's `flow_sid` → the subflow's name.
    pub subflow: SubflowLookup<'a>,
    /// `STUDIO_FUNCTIONS`: where run-function widgets send their calls.
    pub functions: &'a Functions,
}

impl Flow {
    /// The widget called `name`.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }

    /// Where the trigger goes on `event`.
    pub fn start(&self, event: &str) -> Option<&str> {
        self.states.get(&self.initial)?.next.get(event)?.as_deref()
    }

    /// Each run-function widget's name and the URL it calls, for `npm run flow -- check`.
    pub fn functions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.states.values().filter_map(|s| match &s.widget {
            Widget::Function(f) => Some((s.name.as_str(), f.url.as_str())),
            _ => None,
        })
    }

    /// The flows run-subflow widgets name.
    pub fn subflows(&self) -> impl Iterator<Item = &str> {
        self.states.values().filter_map(|s| match &s.widget {
            Widget::Subflow { flow, .. } => Some(flow.as_str()),
            _ => None,
        })
    }
}
