//! Each widget kind's properties, read into a [`Widget`] with its templates parsed: one
//! function per kind, each listing every problem of the widget.

pub(super) mod function;

use serde_json::Value;

use super::raw::{RawCondition, RawState, RawTransition};
use super::{Condition, Http, Links, Pair, SubflowLookup, Widget, DEFAULT_WAIT_SECS};
use crate::config::MAX_TTL_SECONDS;
use crate::conversations::studio::conditions::{self, Kind};
use crate::conversations::studio::liquid::Template;

/// Widget types Studio has that this runtime does not run, and why, for the refusal.
#[rustfmt::skip]
const UNSUPPORTED: &[(&str, &str)] = &[
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

/// A Make HTTP Request widget's `content_type` when it names none.
const FORM: &str = "application/x-www-form-urlencoded;charset=utf-8";

/// The widget `raw` describes, or all that is wrong with it.
pub(super) fn widget(raw: &RawState, links: &Links<'_>) -> Result<Widget, Vec<String>> {
    let mut props = Props::new(raw);
    let widget = match raw.kind.as_str() {
        "trigger" => Some(Widget::Trigger),
        "send-message" => send_message(&mut props),
        "send-and-wait-for-reply" => send_and_wait(&mut props),
        "split-based-on" => split(&mut props),
        "set-variables" => Some(Widget::SetVariables(props.pairs("variables"))),
        "make-http-request" => make_http_request(&mut props),
        "run-function" => function::run_function(&mut props, links.functions),
        "run-subflow" => run_subflow(&mut props, links.subflow),
        other => return Err(vec![unsupported(other)]),
    };
    props.finish(widget)
}

fn send_message(props: &mut Props<'_>) -> Option<Widget> {
    let body = props.template_of("body");
    let media = props.optional("media_url");
    props.refuse_others();
    Some(Widget::SendMessage { body: body?, media })
}

fn send_and_wait(props: &mut Props<'_>) -> Option<Widget> {
    let body = props.template_of("body");
    let media = props.optional("media_url");
    let timeout = timeout(props);
    props.refuse_others();
    Some(Widget::SendAndWait {
        body: body?,
        media,
        timeout,
    })
}

/// How long a Send & Wait For Reply waits, in seconds: at most 30 days, when Studio ends
/// an execution. A reply is awaited as long as the conversation lives
/// (`CONVERSATION_TTL_SECONDS`, up to 30 days with the objects); the timeout fires anyway.
fn timeout(props: &mut Props<'_>) -> u64 {
    let Some(text) = props.prop("timeout") else {
        return DEFAULT_WAIT_SECS;
    };
    match text.trim().parse() {
        Ok(seconds) if seconds <= MAX_TTL_SECONDS => seconds,
        Ok(_) => {
            props.problem(format!(
                "timeout \"{text}\" is over 30 days, when Studio ends an execution"
            ));
            DEFAULT_WAIT_SECS
        }
        Err(_) => {
            props.problem(format!("timeout \"{text}\" is not a number of seconds"));
            DEFAULT_WAIT_SECS
        }
    }
}

/// A Split Based On: its Variable to Test (`input`) is the subject of every condition
/// (<https://www.twilio.com/docs/studio/widget-library/split-based-on>); only a widget
/// without one tests each condition's `arguments[0]`.
fn split(props: &mut Props<'_>) -> Option<Widget> {
    let input = props.optional("input");
    let matches = split_matches(props);
    Some(Widget::Split { input, matches })
}

/// Each `match` transition of the split, in order.
fn split_matches(props: &mut Props<'_>) -> Vec<(Vec<Condition>, Option<String>)> {
    let raw = props.raw;
    let matches = raw.transitions.iter().filter(|t| t.event == "match");
    matches.map(|t| split_match(props, t)).collect()
}

/// A `match` transition: its conditions and where it goes.
fn split_match(
    props: &mut Props<'_>,
    transition: &RawTransition,
) -> (Vec<Condition>, Option<String>) {
    let conditions = transition
        .conditions
        .iter()
        .filter_map(|c| condition(props, c))
        .collect();
    (conditions, transition.next().map(str::to_string))
}

fn condition(props: &mut Props<'_>, raw: &RawCondition) -> Option<Condition> {
    let kind = condition_kind(props, &raw.kind)?;
    let value_text = text_of(&raw.value);
    let value = props.template("condition value", &value_text);
    let argument = raw
        .arguments
        .first()
        .and_then(|a| props.template("condition argument", a));
    check_condition(props, kind, &raw.kind, &value_text);
    Some(Condition {
        kind,
        argument,
        value: value?,
    })
}

/// The condition type Studio's JSON calls `name`, a problem when it has none.
fn condition_kind(props: &mut Props<'_>, name: &str) -> Option<Kind> {
    let kind = Kind::from_name(name);
    if kind.is_none() {
        props.problem(format!("condition type \"{name}\" is not one Studio has"));
    }
    kind
}

/// A problem when the condition's literal value is not one its kind can test (a value that is
/// a template is only known when the condition is tested).
fn check_condition(props: &mut Props<'_>, kind: Kind, name: &str, value: &str) {
    if let Err(e) = conditions::check(kind, value) {
        if !value.contains("{{") {
            props.problem(format!("condition \"{name}\": {e}"));
        }
    }
}

fn make_http_request(props: &mut Props<'_>) -> Option<Widget> {
    let method = props.prop("method").unwrap_or_else(|| "GET".into());
    let content_type = props.prop("content_type").unwrap_or_else(|| FORM.into());
    let url = http_url(props);
    let body = props.optional("body");
    let parameters = props.pairs("parameters");
    Some(Widget::Http(Http {
        json: is_json(&content_type),
        method: method.to_ascii_uppercase(),
        url: url?,
        content_type,
        parameters,
        body,
    }))
}

/// The request's `url` template; a problem when there is none.
fn http_url(props: &mut Props<'_>) -> Option<Template> {
    let Some(url) = props.prop("url") else {
        props.problem("no url".into());
        return None;
    };
    props.template("url", &url)
}

/// Whether a `content_type` is JSON's (whatever its case and parameters).
fn is_json(content_type: &str) -> bool {
    let lower = content_type.to_ascii_lowercase();
    lower.starts_with("application/json")
}

fn run_subflow(props: &mut Props<'_>, subflow: SubflowLookup<'_>) -> Option<Widget> {
    let sid = props.prop("flow_sid").unwrap_or_default();
    let parameters = props.pairs("parameters");
    let Some(flow) = subflow(&sid) else {
        props.problem(no_subflow(&sid));
        return None;
    };
    Some(Widget::Subflow { flow, parameters })
}

/// Why a run-subflow widget whose `flow_sid` is `sid` finds no flow, and how to give it one.
fn no_subflow(sid: &str) -> String {
    format!("runs the subflow {sid:?}: put it in flows/{sid}.json, or map it to a file's name in STUDIO_SUBFLOWS ({{\"{sid}\": \"name\"}})")
}

/// Why a widget of type `kind` is refused.
fn unsupported(kind: &str) -> String {
    UNSUPPORTED
        .iter()
        .find(|(unsupported, _)| *unsupported == kind)
        .map(|(_, why)| format!("type \"{kind}\" is not supported: {why}"))
        .unwrap_or_else(|| format!("type \"{kind}\" is not a widget this runtime knows"))
}

/// A widget's properties being read, and the problems found so far.
struct Props<'a> {
    raw: &'a RawState,
    problems: Vec<String>,
}

impl<'a> Props<'a> {
    /// Reading `raw`'s properties, no problem found yet.
    fn new(raw: &'a RawState) -> Self {
        let problems = Vec::new();
        Props { raw, problems }
    }

    /// The widget read, unless a problem was found (or it is none).
    fn finish(self, widget: Option<Widget>) -> Result<Widget, Vec<String>> {
        match widget {
            Some(widget) if self.problems.is_empty() => Ok(widget),
            _ => Err(self.problems),
        }
    }

    fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// The property `name` as text; `None` when missing or empty.
    fn prop(&self, name: &str) -> Option<String> {
        let text = self.raw.properties.get(name).map(text_of);
        text.filter(|s| !s.is_empty())
    }

    fn template(&mut self, field: &str, text: &str) -> Option<Template> {
        Template::parse(text)
            .map_err(|e| self.problem(format!("{field}: {e}")))
            .ok()
    }

    /// The property `name`'s template (a missing one is empty).
    fn template_of(&mut self, name: &str) -> Option<Template> {
        self.template(name, &self.prop(name).unwrap_or_default())
    }

    /// The property `name`'s template, when it has one.
    fn optional(&mut self, name: &str) -> Option<Template> {
        let text = self.prop(name)?;
        self.template(name, &text)
    }

    /// The list `name` of `{"key", "value"}` (set-variables' variables, parameters).
    fn pairs(&mut self, name: &str) -> Vec<Pair> {
        let raw = self.raw;
        let Some(Value::Array(items)) = raw.properties.get(name) else {
            return Vec::new();
        };
        items.iter().filter_map(|item| self.pair(item)).collect()
    }

    fn pair(&mut self, item: &Value) -> Option<Pair> {
        let key = item_text(item, "key");
        let value = item_text(item, "value");
        let json = item_is_json(item);
        match Template::parse(&value) {
            Ok(value) if !key.is_empty() => Some(Pair { key, value, json }),
            Ok(_) => self.no_pair("an entry without a key".into()),
            Err(e) => self.no_pair(format!("{key}: {e}")),
        }
    }

    /// Notes `problem` of an entry that is no pair.
    fn no_pair(&mut self, problem: String) -> Option<Pair> {
        self.problem(problem);
        None
    }

    /// Replies go to the contact on the channel they wrote on (TwiML, or the Messages API
    /// from the same number); a widget that sends elsewhere is not this worker's.
    fn refuse_others(&mut self) {
        let to = ("to", "{{contact.channel.address}}", "the person texting");
        let from = ("from", "{{flow.channel.address}}", "the number texted");
        for (field, address, who) in [to, from] {
            self.refuse_other(field, address, who);
        }
    }

    /// A problem when the widget sends `field` to any address but `address` (`who`).
    fn refuse_other(&mut self, field: &str, address: &str, who: &str) {
        let Some(text) = self.prop(field) else {
            return;
        };
        if text.replace(' ', "") != address {
            let only = format!("only {address} ({who}) is supported");
            self.problem(format!("sends {field} \"{text}\": {only}"));
        }
    }
}

/// A `{"key", "value"}` item's field `name` as text (a missing one is empty).
fn item_text(item: &Value, name: &str) -> String {
    item.get(name).map(text_of).unwrap_or_default()
}

/// The item asks for its value as JSON (`"type": "json"`, or `"parse_as_json": true`).
fn item_is_json(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("json")
        || item.get("parse_as_json").and_then(Value::as_bool) == Some(true)
}

/// A property's value as text: a string as it is, null as empty, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
