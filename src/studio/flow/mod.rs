//! A flow as Studio exports it (the console's "Export to JSON", or the Flows API's
//! `definition`), read and checked once, when the isolate starts: a flow that would fail
//! half-way through a conversation is refused before the first message, naming the widget.
//!
//! The format: `{"description", "states": [{"name", "type", "transitions": [{"event",
//! "next"?, "conditions"?}], "properties": {…}}], "initial_state": "Trigger", "flags"}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::conditions::{self, Kind};
use super::liquid::Template;

/// Studio's limit on how long a Make HTTP Request call may take (Studio FAQ, "What limits
/// exist in Studio?": "Each outbound HTTP request … is limited to 10 seconds",
/// https://www.twilio.com/docs/studio/user-guide/studio-faq).
pub const HTTP_TIMEOUT_SECS: u64 = 10;
/// Send & Wait For Reply's default wait when the widget names none: one hour
/// (https://www.twilio.com/docs/studio/widget-library/send-wait-reply).
pub const DEFAULT_WAIT_SECS: u64 = 3600;

/// Widget types Studio has that this runtime does not run, and why, for the refusal.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("run-function", "it calls a Twilio Function, which runs on Twilio's servers; call your code with make-http-request"),
    ("send-to-flex", "Flex runs on Twilio's servers"),
    ("say-play", "a voice widget; this worker answers messages"),
    ("gather-input-on-call", "a voice widget; this worker answers messages"),
    ("connect-call-to", "a voice widget; this worker answers messages"),
    ("make-outgoing-call-v2", "a voice widget; this worker answers messages"),
    ("record-voicemail", "a voice widget; this worker answers messages"),
    ("record-call", "a voice widget; this worker answers messages"),
    ("enqueue-call", "a voice widget; this worker answers messages"),
    ("capture-payments", "a voice widget; this worker answers messages"),
    ("fork-stream", "a voice widget; this worker answers messages"),
    ("connect-virtual-agent", "a voice widget; this worker answers messages"),
    ("add-twiml-redirect", "TwiML Redirect hands the message to other TwiML"),
    ("set-dial-dtmf", "a voice widget; this worker answers messages"),
    ("start-conversation", "it creates a Twilio Conversation"),
];

/// One widget, checked: what the runtime needs of it, templates already parsed.
#[derive(Debug)]
pub enum Widget {
    /// `trigger`: where every execution starts; `next` by event (`incomingMessage`,
    /// `incomingRequest`, `incomingParent`).
    Trigger,
    /// `send-message` (https://www.twilio.com/docs/studio/widget-library/send-message).
    SendMessage {
        /// The text.
        body: Template,
        /// `media_url`, when set.
        media: Option<Template>,
    },
    /// `send-and-wait-for-reply`
    /// (https://www.twilio.com/docs/studio/widget-library/send-wait-reply).
    SendAndWait {
        /// The text.
        body: Template,
        /// `media_url`, when set.
        media: Option<Template>,
        /// How long to wait for the reply, in seconds.
        timeout: u64,
    },
    /// `split-based-on` (https://www.twilio.com/docs/studio/widget-library/split-based-on):
    /// the `match` transitions in order, then `noMatch`.
    Split {
        /// `input`, the Variable to Test.
        input: Template,
        /// Each `match` transition: its conditions (all must hold) and where it goes.
        matches: Vec<(Vec<Condition>, Option<String>)>,
    },
    /// `set-variables` (https://www.twilio.com/docs/studio/widget-library/set-variables).
    SetVariables(Vec<Pair>),
    /// `make-http-request` (https://www.twilio.com/docs/studio/widget-library/http-request).
    Http(Http),
    /// `run-subflow` (https://www.twilio.com/docs/studio/widget-library/run-subflow).
    Subflow {
        /// The flow file it runs (found from the widget's `flow_sid`).
        flow: String,
        /// `parameters`: the subflow's `flow.data`.
        parameters: Vec<Pair>,
    },
}

/// One condition of a split's `match` transition.
#[derive(Debug)]
pub struct Condition {
    /// Which test.
    pub kind: Kind,
    /// The value it tests (`arguments[0]`, else the widget's input).
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
    /// (https://www.twilio.com/docs/studio/widget-library/set-variables).
    pub json: bool,
}

impl Pair {
    /// The value over `scope`: text, or JSON when the pair says so and it parses.
    pub fn render(&self, scope: &Value) -> Value {
        let text = self.value.render(scope);
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

/// What a flow's templates can read, found by scanning them for `widgets.<name>.<field>`,
/// `trigger.` and `flow.`: the execution sealed into the cookie keeps only these.
#[derive(Debug, Default, Clone)]
pub struct Reads {
    /// Widget → the fields read (`None`: read as a whole, or through brackets).
    pub widgets: BTreeMap<String, Option<BTreeSet<String>>>,
    /// Some template indexes `widgets` in a way the scan cannot follow: keep everything.
    pub all_widgets: bool,
    /// Some template reads `trigger.…`.
    pub trigger: bool,
}

impl Reads {
    /// Whether `field` of `widget`'s output can still be read.
    pub fn keeps(&self, widget: &str, field: &str) -> bool {
        if self.all_widgets {
            return true;
        }
        match self.widgets.get(widget) {
            None => false,
            Some(None) => true,
            Some(Some(fields)) => fields.contains(field),
        }
    }

    fn scan(&mut self, text: &str) {
        if text.contains("trigger") {
            self.trigger = true;
        }
        let mut rest = text;
        while let Some(at) = rest.find("widgets") {
            rest = &rest[at + "widgets".len()..];
            let Some(after) = rest.strip_prefix('.') else {
                if rest.starts_with('[') {
                    self.all_widgets = true;
                }
                continue;
            };
            let name = identifier(after);
            if name.is_empty() {
                continue;
            }
            let tail = &after[name.len()..];
            let field = tail
                .strip_prefix('.')
                .map(identifier)
                .filter(|f| !f.is_empty());
            match field {
                Some(field) => {
                    if let Some(fields) = self
                        .widgets
                        .entry(name.to_string())
                        .or_insert_with(|| Some(BTreeSet::new()))
                    {
                        fields.insert(field.to_string());
                    }
                }
                None => {
                    self.widgets.insert(name.to_string(), None);
                }
            }
        }
    }
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Studio's JSON, only what is read.
#[derive(Deserialize)]
struct Definition {
    states: Vec<RawState>,
    #[serde(default)]
    initial_state: Option<String>,
}

#[derive(Deserialize)]
struct RawState {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    transitions: Vec<RawTransition>,
    #[serde(default)]
    properties: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct RawTransition {
    event: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
}

#[derive(Deserialize)]
struct RawCondition {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    arguments: Vec<String>,
    #[serde(default)]
    value: Value,
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

impl Flow {
    /// Reads and checks `json`, the flow called `name`, collecting every problem (a flow is
    /// refused with all of them, so one `npm run flow -- check` lists what to fix).
    /// `subflow` maps a run-subflow widget's `flow_sid` to a flow name.
    pub fn parse(
        name: &str,
        json: &str,
        subflow: SubflowLookup<'_>,
    ) -> Result<Flow, Vec<FlowError>> {
        let error = |widget: Option<&str>, problem: String| FlowError {
            flow: name.to_string(),
            widget: widget.map(str::to_string),
            problem,
        };
        let definition: Definition = serde_json::from_str(json)
            .map_err(|e| vec![error(None, format!("not a Studio flow definition ({e})"))])?;
        let mut errors = Vec::new();
        let mut states = BTreeMap::new();
        let mut reads = Reads::default();
        for raw in &definition.states {
            if states.contains_key(&raw.name) {
                errors.push(error(Some(&raw.name), "two widgets have this name".into()));
                continue;
            }
            // Studio writes `service` and `channel` ({{trigger.message.InstanceSid}}, …) into
            // every messaging widget for Conversations; this runtime never renders them, so
            // they would only keep the whole first message in every cookie.
            for (key, value) in &raw.properties {
                if !matches!(key.as_str(), "service" | "channel" | "offset") {
                    scan_value(&mut reads, value);
                }
            }
            for transition in &raw.transitions {
                for condition in &transition.conditions {
                    for argument in &condition.arguments {
                        reads.scan(argument);
                    }
                    scan_value(&mut reads, &condition.value);
                }
            }
            match widget(raw, subflow) {
                Ok(widget) => {
                    let next = raw
                        .transitions
                        .iter()
                        .map(|t| (t.event.clone(), t.next.clone().filter(|n| !n.is_empty())))
                        .collect();
                    states.insert(
                        raw.name.clone(),
                        State {
                            name: raw.name.clone(),
                            widget,
                            next,
                        },
                    );
                }
                Err(problems) => {
                    for problem in problems {
                        errors.push(error(Some(&raw.name), problem));
                    }
                }
            }
        }
        for raw in &definition.states {
            for transition in &raw.transitions {
                if let Some(next) = transition.next.as_deref().filter(|n| !n.is_empty()) {
                    if !definition.states.iter().any(|s| s.name == next) {
                        errors.push(error(
                            Some(&raw.name),
                            format!(
                                "its \"{}\" transition goes to \"{next}\", which is not a widget of the flow",
                                transition.event
                            ),
                        ));
                    }
                }
            }
        }
        let initial = definition
            .initial_state
            .clone()
            .unwrap_or_else(|| "Trigger".into());
        match definition.states.iter().find(|s| s.name == initial) {
            Some(s) if s.kind == "trigger" => {}
            Some(_) => errors.push(error(
                Some(&initial),
                "the initial state is not a trigger".into(),
            )),
            None => errors.push(error(None, format!("no trigger widget \"{initial}\""))),
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Flow {
            name: name.to_string(),
            states,
            initial,
            reads,
        })
    }

    /// The widget called `name`.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }

    /// Where the trigger goes on `event`.
    pub fn start(&self, event: &str) -> Option<&str> {
        self.states.get(&self.initial)?.next.get(event)?.as_deref()
    }

    /// The flows run-subflow widgets name.
    pub fn subflows(&self) -> impl Iterator<Item = &str> {
        self.states.values().filter_map(|s| match &s.widget {
            Widget::Subflow { flow, .. } => Some(flow.as_str()),
            _ => None,
        })
    }
}

fn scan_value(reads: &mut Reads, value: &Value) {
    match value {
        Value::String(text) => reads.scan(text),
        Value::Array(items) => items.iter().for_each(|v| scan_value(reads, v)),
        Value::Object(map) => map.values().for_each(|v| scan_value(reads, v)),
        _ => {}
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn widget(raw: &RawState, subflow: SubflowLookup<'_>) -> Result<Widget, Vec<String>> {
    let mut problems = Vec::new();
    let props = &raw.properties;
    let prop = |name: &str| props.get(name).map(text_of).filter(|s| !s.is_empty());
    fn template(problems: &mut Vec<String>, field: &str, text: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(format!("{field}: {e}"));
                None
            }
        }
    }
    let pairs = |list: Option<&Value>, key: &str, problems: &mut Vec<String>| {
        let mut out = Vec::new();
        if let Some(Value::Array(items)) = list {
            for item in items {
                let k = item.get(key).map(text_of).unwrap_or_default();
                let v = item.get("value").map(text_of).unwrap_or_default();
                let json = item.get("type").and_then(Value::as_str) == Some("json")
                    || item.get("parse_as_json").and_then(Value::as_bool) == Some(true);
                match Template::parse(&v) {
                    Ok(value) if !k.is_empty() => out.push(Pair {
                        key: k,
                        value,
                        json,
                    }),
                    Ok(_) => problems.push(format!("an entry without a {key}")),
                    Err(e) => problems.push(format!("{k}: {e}")),
                }
            }
        }
        out
    };
    let refuse_others = |problems: &mut Vec<String>| {
        // Replies go to the contact on the channel they wrote on (TwiML, or the Messages
        // API from the same number); a widget that sends elsewhere is not this worker's.
        if let Some(to) = prop("to") {
            if to.replace(' ', "") != "{{contact.channel.address}}" {
                problems.push(format!(
                    "sends to \"{to}\": only {{{{contact.channel.address}}}} (the person texting) is supported"
                ));
            }
        }
        if let Some(from) = prop("from") {
            if from.replace(' ', "") != "{{flow.channel.address}}" {
                problems.push(format!(
                    "sends from \"{from}\": only {{{{flow.channel.address}}}} (the number texted) is supported"
                ));
            }
        }
    };
    let widget = match raw.kind.as_str() {
        "trigger" => Widget::Trigger,
        "send-message" => {
            let body = template(&mut problems, "body", &prop("body").unwrap_or_default());
            let media = prop("media_url").and_then(|m| template(&mut problems, "media_url", &m));
            refuse_others(&mut problems);
            match body {
                Some(body) => Widget::SendMessage { body, media },
                None => return Err(problems),
            }
        }
        "send-and-wait-for-reply" => {
            let body = template(&mut problems, "body", &prop("body").unwrap_or_default());
            let media = prop("media_url").and_then(|m| template(&mut problems, "media_url", &m));
            let timeout = match prop("timeout") {
                None => DEFAULT_WAIT_SECS,
                Some(t) => t.trim().parse::<u64>().unwrap_or_else(|_| {
                    problems.push(format!("timeout \"{t}\" is not a number of seconds"));
                    DEFAULT_WAIT_SECS
                }),
            };
            refuse_others(&mut problems);
            match body {
                Some(body) => Widget::SendAndWait {
                    body,
                    media,
                    timeout,
                },
                None => return Err(problems),
            }
        }
        "split-based-on" => {
            let input = template(&mut problems, "input", &prop("input").unwrap_or_default());
            let mut matches = Vec::new();
            for transition in raw.transitions.iter().filter(|t| t.event == "match") {
                let mut conditions = Vec::new();
                for c in &transition.conditions {
                    let Some(kind) = Kind::from_name(&c.kind) else {
                        problems.push(format!(
                            "condition type \"{}\" is not one Studio has",
                            c.kind
                        ));
                        continue;
                    };
                    let value_text = text_of(&c.value);
                    let value = template(&mut problems, "condition value", &value_text);
                    let argument = c
                        .arguments
                        .first()
                        .and_then(|a| template(&mut problems, "condition argument", a));
                    if let Err(e) = conditions::check(kind, &value_text) {
                        if !value_text.contains("{{") {
                            problems.push(format!("condition \"{}\": {e}", c.kind));
                        }
                    }
                    if let Some(value) = value {
                        conditions.push(Condition {
                            kind,
                            argument,
                            value,
                        });
                    }
                }
                matches.push((
                    conditions,
                    transition.next.clone().filter(|n| !n.is_empty()),
                ));
            }
            match input {
                Some(input) => Widget::Split { input, matches },
                None => return Err(problems),
            }
        }
        "set-variables" => {
            Widget::SetVariables(pairs(props.get("variables"), "key", &mut problems))
        }
        "make-http-request" => {
            let method = prop("method")
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase();
            let content_type = prop("content_type")
                .unwrap_or_else(|| "application/x-www-form-urlencoded;charset=utf-8".into());
            let url = prop("url");
            if url.is_none() {
                problems.push("no url".into());
            }
            let url = url.and_then(|u| template(&mut problems, "url", &u));
            let body = prop("body").and_then(|b| template(&mut problems, "body", &b));
            let parameters = pairs(props.get("parameters"), "key", &mut problems);
            match url {
                Some(url) => Widget::Http(Http {
                    json: content_type
                        .to_ascii_lowercase()
                        .starts_with("application/json"),
                    method,
                    url,
                    content_type,
                    parameters,
                    body,
                }),
                None => return Err(problems),
            }
        }
        "run-subflow" => {
            let sid = prop("flow_sid").unwrap_or_default();
            let parameters = pairs(props.get("parameters"), "key", &mut problems);
            match subflow(&sid) {
                Some(flow) => Widget::Subflow { flow, parameters },
                None => {
                    problems.push(format!(
                        "runs the subflow {sid:?}: put it in flows/{sid}.json, or map it to a file's name in STUDIO_SUBFLOWS ({{\"{sid}\": \"name\"}})"
                    ));
                    return Err(problems);
                }
            }
        }
        other => {
            let why = UNSUPPORTED
                .iter()
                .find(|(kind, _)| *kind == other)
                .map(|(_, why)| format!("type \"{other}\" is not supported: {why}"))
                .unwrap_or_else(|| format!("type \"{other}\" is not a widget this runtime knows"));
            return Err(vec![why]);
        }
    };
    if problems.is_empty() {
        Ok(widget)
    } else {
        Err(problems)
    }
}
