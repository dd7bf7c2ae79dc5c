//! Each widget kind's properties, read into a [`Widget`] with its templates parsed: one
//! function per kind, each listing every problem of the widget.

use serde_json::Value;

use super::raw::{RawCondition, RawState, RawTransition};
use super::{Condition, Http, Pair, SubflowLookup, Widget, DEFAULT_WAIT_SECS};
use crate::conversations::studio::conditions::{self, Kind};
use crate::conversations::studio::liquid::Template;

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

/// A Make HTTP Request widget's `content_type` when it names none.
const FORM: &str = "application/x-www-form-urlencoded;charset=utf-8";

/// The widget `raw` describes, or all that is wrong with it.
pub(super) fn widget(raw: &RawState, subflow: SubflowLookup<'_>) -> Result<Widget, Vec<String>> {
    let mut props = Props {
        raw,
        problems: Vec::new(),
    };
    let widget = match raw.kind.as_str() {
        "trigger" => Some(Widget::Trigger),
        "send-message" => send_message(&mut props),
        "send-and-wait-for-reply" => send_and_wait(&mut props),
        "split-based-on" => split(&mut props),
        "set-variables" => Some(Widget::SetVariables(props.pairs("variables"))),
        "make-http-request" => make_http_request(&mut props),
        "run-subflow" => run_subflow(&mut props, subflow),
        other => return Err(vec![unsupported(other)]),
    };
    match widget {
        Some(widget) if props.problems.is_empty() => Ok(widget),
        _ => Err(props.problems),
    }
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

/// How long a Send & Wait For Reply waits, in seconds.
fn timeout(props: &mut Props<'_>) -> u64 {
    let Some(text) = props.prop("timeout") else {
        return DEFAULT_WAIT_SECS;
    };
    text.trim().parse().unwrap_or_else(|_| {
        props.problem(format!("timeout \"{text}\" is not a number of seconds"));
        DEFAULT_WAIT_SECS
    })
}

fn split(props: &mut Props<'_>) -> Option<Widget> {
    let input = props.template_of("input");
    let raw = props.raw;
    let matches = raw
        .transitions
        .iter()
        .filter(|t| t.event == "match")
        .map(|t| split_match(props, t))
        .collect();
    Some(Widget::Split {
        input: input?,
        matches,
    })
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
    let Some(kind) = Kind::from_name(&raw.kind) else {
        let name = &raw.kind;
        props.problem(format!("condition type \"{name}\" is not one Studio has"));
        return None;
    };
    let value_text = text_of(&raw.value);
    let value = props.template("condition value", &value_text);
    let argument = raw
        .arguments
        .first()
        .and_then(|a| props.template("condition argument", a));
    // A value that is a template is only known when the condition is tested.
    if let Err(e) = conditions::check(kind, &value_text) {
        if !value_text.contains("{{") {
            props.problem(format!("condition \"{}\": {e}", raw.kind));
        }
    }
    Some(Condition {
        kind,
        argument,
        value: value?,
    })
}

fn make_http_request(props: &mut Props<'_>) -> Option<Widget> {
    let method = props
        .prop("method")
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    let content_type = props.prop("content_type").unwrap_or_else(|| FORM.into());
    let url = props.prop("url");
    if url.is_none() {
        props.problem("no url".into());
    }
    let url = url.and_then(|u| props.template("url", &u));
    let body = props.optional("body");
    let parameters = props.pairs("parameters");
    Some(Widget::Http(Http {
        json: content_type
            .to_ascii_lowercase()
            .starts_with("application/json"),
        method,
        url: url?,
        content_type,
        parameters,
        body,
    }))
}

fn run_subflow(props: &mut Props<'_>, subflow: SubflowLookup<'_>) -> Option<Widget> {
    let sid = props.prop("flow_sid").unwrap_or_default();
    let parameters = props.pairs("parameters");
    let Some(flow) = subflow(&sid) else {
        props.problem(format!(
            "runs the subflow {sid:?}: put it in flows/{sid}.json, or map it to a file's name in STUDIO_SUBFLOWS ({{\"{sid}\": \"name\"}})"
        ));
        return None;
    };
    Some(Widget::Subflow { flow, parameters })
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

impl Props<'_> {
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
        let key = item.get("key").map(text_of).unwrap_or_default();
        let value = item.get("value").map(text_of).unwrap_or_default();
        let json = item.get("type").and_then(Value::as_str) == Some("json")
            || item.get("parse_as_json").and_then(Value::as_bool) == Some(true);
        match Template::parse(&value) {
            Ok(value) if !key.is_empty() => Some(Pair { key, value, json }),
            Ok(_) => {
                self.problem("an entry without a key".into());
                None
            }
            Err(e) => {
                self.problem(format!("{key}: {e}"));
                None
            }
        }
    }

    /// Replies go to the contact on the channel they wrote on (TwiML, or the Messages API
    /// from the same number); a widget that sends elsewhere is not this worker's.
    fn refuse_others(&mut self) {
        let to = ("to", "{{contact.channel.address}}", "the person texting");
        let from = ("from", "{{flow.channel.address}}", "the number texted");
        for (field, address, who) in [to, from] {
            let Some(text) = self.prop(field) else {
                continue;
            };
            if text.replace(' ', "") != address {
                self.problem(format!(
                    "sends {field} \"{text}\": only {address} ({who}) is supported"
                ));
            }
        }
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
