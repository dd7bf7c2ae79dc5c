//! **Studio flows at the edge** (feature `studio`): `CONVERSATION=studio` with
//! `STUDIO_FLOW=<name>` runs `flows/<name>.json`, a flow exactly as Twilio Studio exports it,
//! with its execution sealed into the pair's cookie like any conversation's state.
//!
//! The build bundles every `flows/*.json` beside the worker (scripts/build.sh), and the
//! isolate reads them as the vars `flows/<name>.json`; natively (the test phone, `npm run
//! flow`) a flow not given as a var is read from `flows/` in the working directory. The flow
//! is checked when the isolate starts: a widget this runtime cannot run, a transition to a
//! missing widget, a template or regex that does not parse or bad JSON make every webhook
//! answer `500 misconfigured: STUDIO_FLOW …`, naming the widget and the reason.
//!
//! What runs: `trigger` (`incomingMessage`; `incomingRequest` for `POST /conversations`, its
//! `parameters` as `flow.data`), `send-message`, `send-and-wait-for-reply` (its timeout is the
//! pair's Durable Object alarm, so without `CONVERSATION_OBJECTS` it never fires),
//! `split-based-on`, `set-variables`, `make-http-request`, `run-function` (at its `url`, or
//! where `STUDIO_FUNCTIONS` maps its `function_sid` or name) and `run-subflow`. Templates are
//! Liquid ([`liquid`]), over `trigger.message.*` (`trigger.parent.parameters.*` in a
//! subflow), `widgets.<name>.*`, `flow.variables.*`, `flow.data.*`,
//! `contact.channel.address` and `flow.channel.address`.

pub mod conditions;
pub mod flow;
pub mod liquid;
pub mod run;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::prelude::{
    ConfigError, Context, Conversation, InboundMessage, Reply, Start, Vars, View,
};
use flow::{functions_var, Flow, FlowError, Functions, Links};
use run::{Event, Execution, Flows, Outcome};

/// The shipped conversation that runs a Studio flow.
#[derive(Debug)]
pub struct Studio {
    flows: Flows,
}

impl Studio {
    /// The flows it runs: `STUDIO_FLOW`'s and the subflows it reaches.
    pub fn flows(&self) -> &Flows {
        &self.flows
    }
}

/// Reads flow `name` and every subflow it runs, through `source` (a flow's name → its JSON
/// text), `subflows` (`STUDIO_SUBFLOWS`: a run-subflow widget's `flow_sid` → a flow's
/// name, for subflows whose file is not named by their SID) and `functions`
/// (`STUDIO_FUNCTIONS`: where run-function widgets call). Every problem of every flow
/// comes back, each naming its flow and widget.
pub fn load(
    name: &str,
    source: &dyn Fn(&str) -> Option<String>,
    subflows: &BTreeMap<String, String>,
    functions: &Functions,
) -> Result<Flows, Vec<FlowError>> {
    let mut all = BTreeMap::new();
    let mut errors = Vec::new();
    let mut pending = vec![name.to_string()];
    while let Some(next) = pending.pop() {
        if all.contains_key(&next) {
            continue;
        }
        match load_one(&next, source, subflows, functions) {
            Ok(flow) => {
                pending.extend(flow.subflows().map(str::to_string));
                all.insert(next, flow);
            }
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Flows {
        main: name.to_string(),
        all,
    })
}

/// A flow's name → its JSON text.
type Source<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads and checks the one flow `name` (not its subflows).
fn load_one(
    name: &str,
    source: Source<'_>,
    subflows: &BTreeMap<String, String>,
    functions: &Functions,
) -> Result<Flow, Vec<FlowError>> {
    let refused = |problem: &str| vec![FlowError::new(name, None, problem.to_string())];
    if !valid_name(name) {
        return Err(refused("a flow's name is letters, digits, '-' and '_'"));
    }
    let Some(json) = source(name) else {
        return Err(refused("no such file (the build bundles flows/*.json)"));
    };
    let subflow = &|sid: &str| subflow_name(sid, source, subflows);
    Flow::parse(name, &json, &Links { subflow, functions })
}

/// The flow a run-subflow widget's `sid` runs: as `STUDIO_SUBFLOWS` maps it, else the file
/// named by the SID.
fn subflow_name(
    sid: &str,
    source: Source<'_>,
    subflows: &BTreeMap<String, String>,
) -> Option<String> {
    if let Some(name) = subflows.get(sid) {
        return Some(name.clone());
    }
    (valid_name(sid) && source(sid).is_some()).then(|| sid.to_string())
}

/// Checks the flow file at `path` as the isolate would (its subflows read from the same
/// folder, `STUDIO_SUBFLOWS` and `STUDIO_FUNCTIONS` from the environment, which `npm run
/// flow` fills from the project's vars): `{"ok", "flow", "widgets", "functions",
/// "problems"}`, for `npm run flow -- check`.
#[cfg(not(target_arch = "wasm32"))]
pub fn check_file(path: &std::path::Path) -> Value {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let functions = match env_functions() {
        Ok(functions) => functions,
        Err(problem) => {
            return serde_json::json!({ "ok": false, "flow": name, "problems": [problem] })
        }
    };
    let source = |flow: &str| sibling_flow(path, &name, flow);
    match load(&name, &source, &env_subflows(), &functions) {
        Ok(flows) => check_passed(&name, &flows),
        Err(errors) => check_failed(&name, &errors),
    }
}

/// For `check_file`: `STUDIO_FUNCTIONS` from the environment (none when unset), or why it
/// is refused, as the isolate would refuse it.
#[cfg(not(target_arch = "wasm32"))]
fn env_functions() -> Result<Functions, String> {
    let Some(json) = std::env::var("STUDIO_FUNCTIONS")
        .ok()
        .filter(|j| !j.trim().is_empty())
    else {
        return Ok(Functions::new());
    };
    functions_var(&json).map_err(|problem| format!("STUDIO_FUNCTIONS {problem}"))
}

/// For `check_file`: flow `flow`'s JSON, the checked file itself when `flow` is its `name`,
/// else the file of that name beside it.
#[cfg(not(target_arch = "wasm32"))]
fn sibling_flow(path: &std::path::Path, name: &str, flow: &str) -> Option<String> {
    if flow == name {
        return std::fs::read_to_string(path).ok();
    }
    let dir = path.parent().unwrap_or(std::path::Path::new(""));
    std::fs::read_to_string(dir.join(format!("{flow}.json"))).ok()
}

/// For `check_file`: `STUDIO_SUBFLOWS` from the environment, none when unset or not JSON.
#[cfg(not(target_arch = "wasm32"))]
fn env_subflows() -> BTreeMap<String, String> {
    let json = std::env::var("STUDIO_SUBFLOWS").ok();
    json.and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// `check_file`'s answer for flows that load: how many widgets, which flows.
#[cfg(not(target_arch = "wasm32"))]
fn check_passed(name: &str, flows: &Flows) -> Value {
    serde_json::json!({
        "ok": true,
        "flow": name,
        "widgets": flows.all.values().map(|f| f.states.len()).sum::<usize>(),
        "flows": flows.all.keys().collect::<Vec<_>>(),
        "functions": check_functions(flows),
        "problems": [],
    })
}

/// For `check_file`: each run-function widget of every flow and where it calls.
#[cfg(not(target_arch = "wasm32"))]
fn check_functions(flows: &Flows) -> Vec<Value> {
    let mut all = Vec::new();
    for (flow, f) in &flows.all {
        let each = f
            .functions()
            .map(|(widget, url)| serde_json::json!({ "flow": flow, "widget": widget, "url": url }));
        all.extend(each);
    }
    all
}

/// `check_file`'s answer for a refused flow: every problem.
#[cfg(not(target_arch = "wasm32"))]
fn check_failed(name: &str, errors: &[FlowError]) -> Value {
    let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
    serde_json::json!({ "ok": false, "flow": name, "problems": problems })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A flow's JSON: the var `flows/<name>.json` (what the build bundles), else natively the
/// file in `flows/`.
fn flow_source(vars: &Vars<'_>, name: &str) -> Option<String> {
    let bundled = vars.get(&format!("flows/{name}.json"));
    bundled.or_else(|| flow_file(vars, name))
}

/// Natively, flow `name`'s file in `STUDIO_FLOWS_DIR` (`flows/` by default).
#[cfg(not(target_arch = "wasm32"))]
fn flow_file(vars: &Vars<'_>, name: &str) -> Option<String> {
    let dir = vars
        .get("STUDIO_FLOWS_DIR")
        .unwrap_or_else(|| "flows".into());
    std::fs::read_to_string(std::path::Path::new(&dir).join(format!("{name}.json"))).ok()
}

/// The isolate has no files: a flow is a var or none.
#[cfg(target_arch = "wasm32")]
fn flow_file(_vars: &Vars<'_>, _name: &str) -> Option<String> {
    None
}

impl Conversation for Studio {
    const NAME: &'static str = "studio";
    const READS_OTHER_PARAMS: bool = true;
    type State = Execution;

    fn new(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let name = vars.get("STUDIO_FLOW").ok_or_else(no_flow_named)?;
        let subflows = subflows_var(vars)?;
        let functions = functions_setting(vars)?;
        let source = |flow: &str| flow_source(vars, flow);
        let flows = load(&name, &source, &subflows, &functions).map_err(|e| flow_refused(&e))?;
        Ok(Studio { flows })
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        _chat: &View<'_>,
        execution: &mut Execution,
        ctx: &Context<'_>,
    ) -> Reply {
        let event = Event::Message(parameters(message));
        let outcome = execution
            .advance(&self.flows, event, false, false, ctx)
            .await;
        reply(outcome, ctx)
    }

    /// The waiting widget's timeout: the pair's object calls this when the reply it asked for
    /// ([`Reply::follow_up_after`]) did not come in time.
    async fn follow_up(
        &self,
        chat: &View<'_>,
        execution: &mut Execution,
        ctx: &Context<'_>,
    ) -> Reply {
        let outcome = execution
            .advance(
                &self.flows,
                Event::Timeout,
                true,
                last_send_failed(chat),
                ctx,
            )
            .await;
        reply(outcome, ctx)
    }

    /// In progress only while the execution waits for a reply (a Send & Wait For Reply,
    /// in the main flow or a subflow): Studio refuses a second *active* execution for a
    /// contact (Studio FAQ, <https://www.twilio.com/docs/studio/user-guide/studio-faq>), but
    /// an execution that ended is over, and a new start runs with its own `flow.data`.
    fn in_progress(&self, execution: &Execution, _chat: &View<'_>) -> bool {
        execution.widget.is_some()
    }

    /// `POST /conversations` runs the trigger's `incomingRequest` transition, with the
    /// request's `parameters` (an object, or Studio's REST API's JSON text) as `flow.data`.
    async fn start(
        &self,
        start: &Start,
        execution: &mut Execution,
        ctx: &Context<'_>,
    ) -> Result<Reply, String> {
        if self.flows.all[&self.flows.main]
            .start("incomingRequest")
            .is_none()
        {
            return Err("this flow's trigger has no incomingRequest transition".into());
        }
        let event = request_event(start)?;
        let outcome = execution
            .advance(&self.flows, event, true, false, ctx)
            .await;
        Ok(reply(outcome, ctx))
    }
}

/// `STUDIO_FLOW` is unset.
fn no_flow_named() -> ConfigError {
    let problem = "must name the flow to run: flows/<STUDIO_FLOW>.json";
    ConfigError::new("STUDIO_FLOW", problem)
}

/// `STUDIO_SUBFLOWS`: a run-subflow widget's `flow_sid` → a flow's name (none when unset).
fn subflows_var(vars: &Vars<'_>) -> Result<BTreeMap<String, String>, ConfigError> {
    let Some(json) = vars.get("STUDIO_SUBFLOWS") else {
        return Ok(BTreeMap::new());
    };
    serde_json::from_str(&json).map_err(|e| bad_subflows(&e))
}

/// `STUDIO_SUBFLOWS` is not the JSON object it must be.
fn bad_subflows(e: &serde_json::Error) -> ConfigError {
    let problem = format!(
        "must be a JSON object of flow SID to flow name, like {{\"FW…\": \"greeting\"}} ({e})"
    );
    ConfigError::new("STUDIO_SUBFLOWS", problem)
}

/// `STUDIO_FUNCTIONS`: where run-function widgets call (none mapped when unset).
fn functions_setting(vars: &Vars<'_>) -> Result<Functions, ConfigError> {
    let Some(json) = vars.get("STUDIO_FUNCTIONS") else {
        return Ok(Functions::new());
    };
    functions_var(&json).map_err(|problem| ConfigError::new("STUDIO_FUNCTIONS", problem))
}

/// `STUDIO_FLOW`'s flows are refused: every problem of every flow, in one line.
fn flow_refused(errors: &[FlowError]) -> ConfigError {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    ConfigError::new("STUDIO_FLOW", all.join("; "))
}

/// The event a start is: its `parameters`, and the pair it opens.
fn request_event(start: &Start) -> Result<Event, String> {
    let parameters = request_parameters(start)?;
    let (contact, channel) = (start.to.clone(), start.from.clone());
    Ok(Event::Request {
        parameters,
        contact,
        channel,
    })
}

/// A start's `parameters`: an object, or Studio's REST API's JSON text of one.
fn request_parameters(start: &Start) -> Result<Map<String, Value>, String> {
    let refused = || Err("parameters must be a JSON object".into());
    match start.fields.get("parameters") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => refused(),
        },
        Some(_) => refused(),
    }
}

/// Whether the worker's latest own send is reported failed or undelivered.
#[cfg(feature = "objects")]
fn last_send_failed(chat: &View<'_>) -> bool {
    let last = chat.standing.deliveries.last();
    last.is_some_and(|d| d.status == "failed" || d.status == "undelivered")
}

/// Without the objects no delivery is reported, so none failed.
#[cfg(not(feature = "objects"))]
fn last_send_failed(_chat: &View<'_>) -> bool {
    false
}

/// The reply that carries `outcome`'s messages, and its wait for the next text. A limit that
/// stopped the execution goes into the log line: the person only sees the flow go quiet.
fn reply(outcome: Outcome, ctx: &Context<'_>) -> Reply {
    if let Some(why) = &outcome.stopped {
        ctx.note("studio_stopped", why);
    }
    let reply = (outcome.messages.into_iter()).fold(Reply::none(), Reply::then_message);
    match outcome.wait {
        Some(seconds) => reply.follow_up_after(std::time::Duration::from_secs(seconds)),
        None => reply,
    }
}

/// Every parameter of the webhook, as `trigger.message.*` and `widgets.<name>.inbound.*`
/// read them (<https://www.twilio.com/docs/studio/widget-library/trigger-start>).
fn parameters(message: &InboundMessage) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |name: &str, value: &str| {
        map.insert(name.to_string(), Value::String(value.to_string()));
    };
    let optional = [
        ("MessageSid", &message.message_sid),
        ("SmsSid", &message.sms_sid),
        ("AccountSid", &message.account_sid),
        ("MessagingServiceSid", &message.messaging_service_sid),
        ("NumMedia", &message.num_media),
        ("NumSegments", &message.num_segments),
        ("ProfileName", &message.profile_name),
        ("WaId", &message.wa_id),
        ("OptOutType", &message.opt_out_type),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            put(name, value);
        }
    }
    put("From", &message.from);
    put("To", &message.to);
    put("Body", &message.body);
    for (i, media) in message.media.iter().enumerate() {
        put(&format!("MediaUrl{i}"), &media.url);
        if let Some(content_type) = &media.content_type {
            put(&format!("MediaContentType{i}"), content_type);
        }
    }
    for (name, value) in &message.other {
        put(name, value);
    }
    map
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "tests/function_tests.rs"]
mod function_tests;
